"""Probing one DICOMweb node for `dicom-mcp check`, reading no patient data.

GETs whose bodies are not read (the status line and headers say all the check needs):

    QIDO-RS     a study search for a Study Instance UID made up for this run, with the node's
                credentials: any answer shows the root is reachable, 2xx that they are accepted
    anonymous   the same without credentials, where the node has some: 2xx means the archive
                does not ask for them at all
    WADO-RS     the metadata of an instance no one has: 404 is the answer of a working archive,
                401 or 403 one that refuses our credentials for retrieval
    decoding    one-result study searches for PatientID `*` and `%2A` (`decoding.py`'s question):
                of each answer only its first two significant bytes are looked at, `[]` (none)
                or `[{` (a study), so no value is ever read; where `*` finds none, it is unknown

Each request is bounded by `wait` seconds, waiting for the connection included.
"""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

import anyio
import certifi
import httpx

from dicom_mcp.dicomweb.auth import FileAuth, tls_context
from dicom_mcp.dicomweb.client import USER_AGENT
from dicom_mcp.dicomweb.decoding import ENCODED, PLAIN
from dicom_mcp.dicomweb.errors import for_transport
from dicom_mcp.dicomweb.exchange import DICOM_JSON
from dicom_mcp.dicomweb.search import url_path
from dicom_mcp.errors import ConfigurationError
from dicom_mcp.model.target import Target, WebSettings

_LOOK: Final = 64  # bytes of an answer's start looked at, at most: whitespace, then "[]" or "[{"


@dataclass(frozen=True)
class Reply:
    """One request's outcome: its HTTP status and round trip, or why none came (`cause`: the error's
    class in errors.py, e.g. "CredentialsUnreadable")."""

    status: int | None = None
    millis: float | None = None
    failure: str = ""
    cause: str = ""


@dataclass(frozen=True)
class WebProbe:
    """What one DICOMweb node answered; `anonymous` is None where the node has no credentials, or the
    search went unanswered."""

    search: Reply
    anonymous: Reply | None
    metadata: Reply | None  # None: not tried, the search went unanswered
    # Whether the archive percent-decodes query strings (it matters for local_matching); None: it
    # holds no study to tell by, or did not answer.
    decodes_query_strings: bool | None = None


def has_credentials(web: WebSettings) -> bool:
    return web.token_file is not None or web.password_file is not None


def tls_arguments(target: Target) -> tuple[ssl.SSLContext, str] | None:
    """For an https node: the SSL context its requests verify the archive with, and the name checked.

    Raises:
        ConfigurationError: the node's ca_file cannot be used.
    """
    web = _web(target)
    parts = urlsplit(web.url)
    if parts.scheme != "https":
        return None
    context = tls_context(web, target.name or "?")
    if not isinstance(context, ssl.SSLContext):  # httpx's default: certifi's bundle
        context = ssl.create_default_context(cafile=certifi.where())
    return context, parts.hostname or target.host


async def probe(target: Target, wait: float, study: str, series: str, instance: str) -> WebProbe:
    """Search for `study` and read `instance`'s metadata (UIDs no one has), as the module docstring says."""
    web = _web(target)
    where = target.describe()
    search_path = f"{web.url}/studies?StudyInstanceUID={study}&limit=1"
    metadata_path = (
        f"{web.url}/{url_path(['studies', study, 'series', series, 'instances', instance, 'metadata'])}"
    )
    async with _client(target, wait, credentials=True) as http:
        search = await _get(http, search_path, wait, where)
        if search.status is None:
            return WebProbe(search, None, None)
        metadata = await _get(http, metadata_path, wait, where)
        decodes = await _decodes(http, web.url, wait, where)
    anonymous = None
    if has_credentials(web):
        async with _client(target, wait, credentials=False) as http:
            anonymous = await _get(http, search_path, wait, where)
    return WebProbe(search, anonymous, metadata, decodes)


async def _decodes(http: httpx.AsyncClient, root: str, wait: float, where: str) -> bool | None:
    """Whether the archive decodes `%2A` as `*` (see the module docstring); None: cannot tell."""
    if not await _finds_one(http, f"{root}/studies?{PLAIN}", wait, where):
        return None
    return await _finds_one(http, f"{root}/studies?{ENCODED}", wait, where)


async def _finds_one(http: httpx.AsyncClient, url: str, wait: float, where: str) -> bool:
    """Whether a search answers a result, from the first two significant bytes of its body only."""
    try:
        with anyio.fail_after(wait):
            async with http.stream("GET", url, headers={"Accept": DICOM_JSON}) as response:
                if response.status_code != 200:
                    return False
                return await _opens_a_dataset(response)
    except (TimeoutError, httpx.HTTPError, ConfigurationError):
        return False


async def _opens_a_dataset(response: httpx.Response) -> bool:
    """Whether a JSON answer starts `[{`: its bytes are looked at one by one, whitespace skipped,
    and only its first two significant ones are kept (no value's byte is held)."""
    significant, looked = b"", 0
    async for chunk in response.aiter_bytes():
        for byte in chunk:
            looked += 1
            if byte not in b" \t\r\n":
                significant += bytes((byte,))
            if len(significant) == 2 or looked >= _LOOK:
                return significant == b"[{"
    return False


def _client(target: Target, timeout: float, *, credentials: bool) -> httpx.AsyncClient:
    web, name = _web(target), target.name or "?"
    return httpx.AsyncClient(
        auth=FileAuth(web, name) if credentials else None,
        verify=tls_context(web, name),
        timeout=httpx.Timeout(timeout),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,  # a redirect would carry our credentials elsewhere
    )


async def _get(http: httpx.AsyncClient, url: str, wait: float, where: str) -> Reply:
    """GET `url`, keeping its status and round trip; the body is never read."""
    started = time.perf_counter()
    try:
        with anyio.fail_after(wait):
            async with http.stream("GET", url, headers={"Accept": DICOM_JSON}) as response:
                return Reply(response.status_code, round((time.perf_counter() - started) * 1000, 2))
    except (TimeoutError, httpx.TimeoutException):
        return Reply(failure=f"no answer within {wait:g} s", cause="PacsTimeout")
    except httpx.RequestError as exc:  # the exception's own text may hold the URL
        error = for_transport(where, exc, read_timeout=wait)
        return Reply(failure=str(error), cause=type(error).__name__)
    except ConfigurationError as exc:  # a token or password file that cannot be read
        return Reply(failure=str(exc), cause=type(exc).__name__)


def _web(target: Target) -> WebSettings:
    if target.web is None:
        raise TypeError("a DICOMweb probe needs a DICOMweb node")
    return target.web
