"""One operation's HTTP requests to a DICOMweb node: retries, status codes, capped reads, decoding.

A 429 or 503 is retried (at most `RETRIES` times) after the wait its Retry-After asks for, or a
short backoff, unless that wait would pass the operation's deadline. No URL, query string or body
is logged or quoted: errors name the node and the HTTP status only.

What a node sends is bounded before it is spent: a QIDO-RS body by the results asked for
(`search_cap`) and by how far it inflates from what came on the wire (`MAX_INFLATION`), its
rows read one at a time up to the number asked for; a WADO-RS body (instances, or an instance's
metadata) by the call's byte budget as it arrives, its parts by `MAX_PARTS`, and each deflated
instance again as it inflates. Instances
leave as bytes (`model/instances.py`), parsed later in the sandbox; large bodies are split off
the event loop.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import anyio
import anyio.to_thread
import httpx

from dicom_mcp.dicomweb import errors, multipart
from dicom_mcp.errors import PacsBusy, PacsError
from dicom_mcp.model import instances
from dicom_mcp.model.instances import Instance, Malformed, PixelsLeft, from_file
from dicom_mcp.pacs.budget import Budget

T = TypeVar("T")
RETRIES: Final = 2
BACKOFF: Final = 0.5  # seconds before the first retry when the archive gives no Retry-After
MAX_SEARCH_BYTES: Final = 64 * 1024 * 1024  # a QIDO-RS answer, whatever `limit` asked for
SEARCH_BYTES_PER_ROW: Final = 32 * 1024  # far above a real result's size in DICOM JSON
SEARCH_BYTES_BASE: Final = 1024 * 1024
MAX_INFLATION: Final = 100  # decoded bytes per byte on the wire, past the first MiB
MAX_PARTS: Final = 10_000  # parts of one WADO-RS answer
_OFF_LOOP_BYTES: Final = 256 * 1024  # bodies at least this large are decoded in a worker thread
DICOM_JSON: Final = "application/dicom+json"
INSTANCES: Final = 'multipart/related; type="application/dicom"; transfer-syntax=*'
INSTANCES_DEFAULT_SYNTAX: Final = 'multipart/related; type="application/dicom"'
FROM_METADATA: Final = "read from the WADO-RS metadata (the instance passed the byte cap)"


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

    async def search(self, path: str, query: str, *, scoped: bool, rows: int) -> Page:
        """GET a QIDO-RS resource asking for at most `rows` results; a scoped one (a study's series,
        ...) that is not there is empty."""
        response = await self._open(f"{self._root}/{path}?{query}", DICOM_JSON)
        if response.status_code == 404 and scoped:
            await response.aclose()
            return Page([], False)
        self._check(response)
        more = "additional results" in response.headers.get("Warning", "").lower()
        cap = search_cap(rows)
        body = await self._read(response, cap, lambda: self._search_too_large(cap))
        if response.status_code == 204 or not body.strip():
            return Page([], more)
        return Page(await _off_loop(body, lambda: self._rows(body, rows)), more)

    async def instances(self, path: str, budget: Budget) -> list[Instance]:
        """GET a WADO-RS resource's instances as stored (any transfer syntax); none when it is not there.

        Raises:
            RetrieveTooLarge: the body, or an instance as it inflated, passed the call's budget.
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
        body = await self._read(response, None, None, budget)
        return await _off_loop(body, lambda: self._instances(body, content_type, budget), always=True)

    async def metadata(self, path: str, budget: Budget, sop_uid: str) -> list[Instance]:
        """GET an instance's WADO-RS metadata (DICOM JSON, parsed later in the sandbox); none when
        it is not there.

        Raises:
            RetrieveTooLarge: the body passed the call's budget.
        """
        response = await self._open(f"{self._root}/{path}", DICOM_JSON)
        if response.status_code == 404:
            await response.aclose()
            return []
        self._check(response)
        body = await self._read(response, None, None, budget)
        return [Instance(body, instances.DICOM_JSON, PixelsLeft(FROM_METADATA, sop_uid))]

    async def body(self, path: str, accepts: tuple[str, ...], budget: Budget) -> tuple[str, bytes]:
        """GET a resource below the root, asking with each of `accepts` in turn while the archive
        answers 406; its Content-Type and body, counted against `budget`.

        Raises:
            RetrieveTooLarge: the body passed the call's budget.
        """
        url = f"{self._root}/{path}"
        for accept in accepts:
            response = await self._open(url, accept)
            if response.status_code != 406 or accept == accepts[-1]:
                break
            await response.aclose()
        self._check(response)
        content_type = response.headers.get("Content-Type", "")
        return content_type, await self._read(response, None, None, budget)

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

    async def _read(
        self,
        response: httpx.Response,
        cap: int | None,
        too_large: Callable[[], Exception] | None,
        budget: Budget | None = None,
    ) -> bytes:
        """The body, decoded (gzip, ...), within `cap` or `budget` and within MAX_INFLATION of the wire."""
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if budget is not None:
                    budget.take(len(chunk), self.where)
                elif cap is not None and too_large is not None and size > cap:
                    raise too_large()
                if size > SEARCH_BYTES_BASE and size > MAX_INFLATION * response.num_bytes_downloaded:
                    raise errors.malformed(
                        self.where, f"content encoding (it inflates more than {MAX_INFLATION} times)"
                    )
                chunks.append(chunk)
        except httpx.RequestError as exc:
            raise self._transport_error(exc) from None
        finally:
            await response.aclose()
        return b"".join(chunks)

    def _transport_error(self, exc: httpx.RequestError) -> PacsError:
        return errors.for_transport(self.where, exc, read_timeout=self._read_timeout)

    def _search_too_large(self, cap: int) -> PacsError:
        return errors.malformed(self.where, f"QIDO-RS answer within {cap} bytes for the results asked for")

    def _rows(self, body: bytes, most: int) -> list[dict[str, Any]]:
        try:
            rows = json_rows(body.decode("utf-8"), most)
        except TooManyRows:
            raise errors.malformed(
                self.where, f"QIDO-RS answer (more than the {most} results asked for)"
            ) from None
        except (ValueError, RecursionError):
            raise errors.malformed(self.where, "DICOM JSON") from None
        if not all(isinstance(row, dict) for row in rows):
            raise errors.malformed(self.where, "DICOM JSON (an array of datasets)")
        return rows

    def _instances(self, body: bytes, content_type: str, budget: Budget) -> list[Instance]:
        boundary = multipart.boundary_of(content_type)
        if boundary is None:
            if content_type.split(";", maxsplit=1)[0].strip().lower() != "application/dicom":
                raise errors.malformed(self.where, "multipart/related answer")
            bodies = [body]
        else:
            try:
                found = multipart.parts(body, boundary, MAX_PARTS)
            except multipart.TooManyParts:
                raise errors.malformed(self.where, f"WADO-RS answer (more than {MAX_PARTS} parts)") from None
            except multipart.CutShort:
                raise errors.cut_short(self.where) from None
            except multipart.MultipartError:
                raise errors.malformed(self.where, "multipart/related answer") from None
            bodies = [part.body for part in found if part.content_type in ("application/dicom", "")]
        try:
            return [from_file(data, lambda size: budget.take(size, self.where)) for data in bodies if data]
        except Malformed:
            raise errors.malformed(self.where, "DICOM instance") from None


class TooManyRows(ValueError):
    """A JSON array holds more elements than were asked for."""


def search_cap(rows: int) -> int:
    """The bytes a QIDO-RS answer of at most `rows` results may take."""
    return min(MAX_SEARCH_BYTES, SEARCH_BYTES_BASE + rows * SEARCH_BYTES_PER_ROW)


def json_rows(text: str, most: int) -> list[Any]:
    """The elements of the JSON array `text`, read one at a time, at most `most` of them.

    Raises:
        TooManyRows: there are more.
        ValueError: it is not a JSON array (RecursionError: nested too deep).
    """
    decoder = json.JSONDecoder()
    rows: list[Any] = []
    position = _skip_space(text, 0)
    if text[position : position + 1] != "[":
        raise ValueError("not an array")
    position = _skip_space(text, position + 1)
    if text[position : position + 1] == "]":
        return rows if _skip_space(text, position + 1) == len(text) else _trailing()
    while True:
        if len(rows) >= most:
            raise TooManyRows(most)
        row, position = decoder.raw_decode(text, position)
        rows.append(row)
        position = _skip_space(text, position)
        mark = text[position : position + 1]
        if mark == "]":
            return rows if _skip_space(text, position + 1) == len(text) else _trailing()
        if mark != ",":
            raise ValueError("no comma between elements")
        position = _skip_space(text, position + 1)


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def _trailing() -> list[Any]:
    raise ValueError("text after the array")


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
