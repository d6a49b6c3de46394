"""HTTP failures of a DICOMweb node, put into the one error tree (`errors.py`), once.

    PacsError
    ├── PacsUnreachable       no TCP or TLS connection (refused, DNS, certificate rejected)
    ├── PacsTimeout           the connect or read timeout, or the overall deadline
    ├── PacsBusy              429/503 still after the retries, or a Retry-After past the deadline
    ├── AssociationAborted
    │   └── AnswerCutShort    the connection closed before the answer's end
    └── QueryFailed           any other HTTP error status (`status` is the HTTP code)
        ├── AccessRefused     401/403: the archive refused our credentials
        └── MalformedAnswer   the body is not the DICOM JSON or multipart it should be
    InvalidQuery
    └── SearchTooBroad        a search thinned out here read too many candidates
    NothingFound              (callers decide: 404 on a QIDO-RS search is an empty answer)

Messages name the node and the HTTP status, never a URL, a query value or a body.
"""

from __future__ import annotations

import httpx

from dicom_mcp.errors import (
    AccessRefused,
    AnswerCutShort,
    MalformedAnswer,
    PacsBusy,
    PacsError,
    PacsTimeout,
    PacsUnreachable,
    QueryFailed,
)

_MEANINGS = {
    400: "it refused the request as malformed",
    404: "there is no such resource at the node's url",
    406: "it cannot send the media type asked for",
    413: "the request was too large for it",
    414: "the request URL was too long for it",
}


def for_status(where: str, status: int) -> PacsError:
    """The error for an HTTP status that is not a success (429/503 after retries included)."""
    if status in (401, 403):
        reason = "refused our credentials" if status == 401 else "refused access with our credentials"
        return AccessRefused(
            f"{where} {reason} (HTTP {status}): check the node's token_file or username and password_file",
            status,
        )
    if status in (429, 503):
        return PacsBusy(f"{where} stayed busy (HTTP {status}) after retrying as it asked")
    if 300 <= status < 400:
        return QueryFailed(
            f"{where} redirected the request (HTTP {status}): set the node's url to its target", status
        )
    meaning = _MEANINGS.get(status) or ("it failed" if status >= 500 else "it refused the request")
    return QueryFailed(f"{where} answered HTTP {status}: {meaning}", status)


def for_transport(where: str, exc: httpx.RequestError, *, read_timeout: float) -> PacsError:
    """The error for a failure below HTTP: connection, TLS, timeouts, a connection closed early."""
    if isinstance(exc, httpx.DecodingError):
        return malformed(where, "content encoding")
    if isinstance(exc, httpx.ConnectTimeout):
        return PacsTimeout(f"{where} did not accept a connection within the connect timeout")
    if isinstance(exc, httpx.PoolTimeout):
        return PacsBusy(f"no connection to {where} came free in time")
    if isinstance(exc, httpx.TimeoutException):
        return PacsTimeout(f"{where} sent nothing for the read timeout ({read_timeout:g} s)")
    if isinstance(exc, httpx.ConnectError):
        return PacsUnreachable(f"could not open a connection to {where} (refused, no route, or TLS rejected)")
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return AnswerCutShort(f"{where} closed the connection before its answer was complete")
    return PacsUnreachable(f"the connection to {where} failed ({type(exc).__name__})")


def malformed(where: str, what: str) -> MalformedAnswer:
    """The body could not be read as `what` (e.g. "DICOM JSON")."""
    return MalformedAnswer(f"{where} sent an answer that is not valid {what}", 200)


def cut_short(where: str) -> AnswerCutShort:
    return AnswerCutShort(f"{where} ended its answer before the last part (multipart body cut short)")
