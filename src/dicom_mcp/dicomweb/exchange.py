"""One operation's HTTP requests to a DICOMweb node: retries, status codes, capped reads, decoding.

A 429 or 503 is retried (at most `RETRIES` times) after the wait its Retry-After asks for, or a
short backoff, unless that wait would pass the operation's deadline. Bodies are read within a
byte cap and decoded off the event loop when large. No URL, query string or body is logged or
quoted: errors name the node and the HTTP status only.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from typing import Any, Final, TypeVar

import anyio
import anyio.to_thread
import httpx
from pydicom import dcmread
from pydicom.dataset import Dataset

from dicom_mcp.dicom.errors import PacsBusy, PacsError, RetrieveTooLarge
from dicom_mcp.dicomweb import errors, multipart

T = TypeVar("T")
RETRIES: Final = 2
BACKOFF: Final = 0.5  # seconds before the first retry when the archive gives no Retry-After
MAX_SEARCH_BYTES: Final = 256 * 1024 * 1024  # a QIDO-RS answer, whatever `limit` asked for
_OFF_LOOP_BYTES: Final = 256 * 1024  # bodies at least this large are decoded in a worker thread
DICOM_JSON: Final = "application/dicom+json"
INSTANCES: Final = 'multipart/related; type="application/dicom"; transfer-syntax=*'
INSTANCES_DEFAULT_SYNTAX: Final = 'multipart/related; type="application/dicom"'


@dataclass(frozen=True)
class Page:
    """One QIDO-RS answer: its results, and whether the archive said it left some out."""

    rows: list[dict[str, Any]]
    more: bool


class Exchange:
    """The HTTP side of one operation on one node, within its deadline (`give_up`, anyio's clock)."""

    def __init__(self, http: httpx.AsyncClient, root: str, where: str, read_timeout: float, give_up: float):
        self._http, self._root = http, root
        self.where = where  # the node, as messages name it
        self._read_timeout, self._give_up = read_timeout, give_up

    async def search(self, path: str, query: str, *, scoped: bool) -> Page:
        """GET a QIDO-RS resource; a scoped one (a study's series, ...) that is not there is empty."""
        response = await self._open(f"{self._root}/{path}?{query}", DICOM_JSON)
        if response.status_code == 404 and scoped:
            await response.aclose()
            return Page([], False)
        self._check(response)
        more = "additional results" in response.headers.get("Warning", "").lower()
        body = await self._read(response, MAX_SEARCH_BYTES, self._search_too_large)
        if response.status_code == 204 or not body.strip():
            return Page([], more)
        return Page(await _off_loop(body, lambda: self._rows(body)), more)

    async def instances(self, path: str, max_bytes: int) -> list[Dataset]:
        """GET a WADO-RS resource's instances as stored (any transfer syntax); none when it is not there.

        Raises:
            RetrieveTooLarge: the body passed `max_bytes`.
        """
        url = f"{self._root}/{path}"
        response = await self._open(url, INSTANCES)
        if response.status_code == 406:  # an archive that will not say "as stored": its default syntax
            await response.aclose()
            response = await self._open(url, INSTANCES_DEFAULT_SYNTAX)
        if response.status_code == 404:
            await response.aclose()
            return []
        self._check(response)
        content_type = response.headers.get("Content-Type", "")

        def too_large() -> PacsError | RetrieveTooLarge:
            return RetrieveTooLarge(
                f"the instances from {self.where} passed the cap of {max_bytes} bytes per call "
                "(DICOM_MCP_MAX_RETRIEVE_BYTES); ask for fewer, e.g. one instance"
            )

        body = await self._read(response, max_bytes, too_large)
        return await _off_loop(body, lambda: self._datasets(body, content_type), always=True)

    async def _open(self, url: str, accept: str) -> httpx.Response:
        """Send a GET (streamed); retry 429 and 503 as the archive asks, within the deadline."""
        for attempt in range(RETRIES + 1):
            request = self._http.build_request("GET", url, headers={"Accept": accept})
            try:
                response = await self._http.send(request, stream=True)
            except httpx.RequestError as exc:
                raise self._transport_error(exc) from None  # the exception's text may hold the URL
            if response.status_code not in (429, 503) or attempt == RETRIES:
                return response
            wait = retry_after(response.headers.get("Retry-After"), BACKOFF * 2**attempt)
            await response.aclose()
            if anyio.current_time() + wait >= self._give_up:
                raise PacsBusy(
                    f"{self.where} is busy (HTTP {response.status_code}) and asked for a wait of "
                    f"{wait:g} s, past the query deadline"
                )
            await anyio.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _check(self, response: httpx.Response) -> None:
        if not 200 <= response.status_code < 300:
            raise errors.for_status(self.where, response.status_code)

    async def _read(self, response: httpx.Response, cap: int, too_large: Callable[[], Exception]) -> bytes:
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > cap:
                    raise too_large()
                chunks.append(chunk)
        except httpx.RequestError as exc:
            raise self._transport_error(exc) from None
        finally:
            await response.aclose()
        return b"".join(chunks)

    def _transport_error(self, exc: httpx.RequestError) -> PacsError:
        return errors.for_transport(self.where, exc, read_timeout=self._read_timeout)

    def _search_too_large(self) -> PacsError:
        return errors.malformed(self.where, f"QIDO-RS answer within {MAX_SEARCH_BYTES} bytes")

    def _rows(self, body: bytes) -> list[dict[str, Any]]:
        try:
            rows = json.loads(body)
        except ValueError:
            raise errors.malformed(self.where, "DICOM JSON") from None
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise errors.malformed(self.where, "DICOM JSON (an array of datasets)")
        return rows

    def _datasets(self, body: bytes, content_type: str) -> list[Dataset]:
        boundary = multipart.boundary_of(content_type)
        if boundary is None:
            if content_type.split(";", maxsplit=1)[0].strip().lower() != "application/dicom":
                raise errors.malformed(self.where, "multipart/related answer")
            bodies = [body]
        else:
            try:
                found = multipart.parts(body, boundary)
            except multipart.CutShort:
                raise errors.cut_short(self.where) from None
            except multipart.MultipartError:
                raise errors.malformed(self.where, "multipart/related answer") from None
            bodies = [part.body for part in found if part.content_type in ("application/dicom", "")]
        try:
            return [dcmread(BytesIO(data), force=True) for data in bodies]
        except Exception:  # pydicom raises many kinds on a damaged file; its text may quote values
            raise errors.malformed(self.where, "DICOM instance") from None


def retry_after(header: str | None, default: float) -> float:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), else `default`."""
    if not header:
        return default
    text = header.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return default
    return max(0.0, when.timestamp() - time.time())


async def _off_loop(body: bytes, decode: Callable[[], T], *, always: bool = False) -> T:
    """Decode small bodies in place, large ones (or any, with `always`) in a worker thread."""
    if always or len(body) >= _OFF_LOOP_BYTES:
        return await anyio.to_thread.run_sync(decode)
    return decode()
