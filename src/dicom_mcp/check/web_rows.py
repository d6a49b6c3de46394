"""A DICOMweb node's row: reach it (`reach.py`), probe it (`dicomweb/probe.py`), and judge its answers.

The service needs QIDO-RS at the node's url, its credentials accepted (or none asked for), and
WADO-RS answering: a 404 for the metadata of an instance no one has is a working archive's answer.
"""

from __future__ import annotations

import uuid
from typing import Final

import anyio.to_thread

from dicom_mcp.check.cells import Cell, Row, millis, no_answer, skipped
from dicom_mcp.check.reach import reach
from dicom_mcp.dicomweb.errors import for_status
from dicom_mcp.dicomweb.probe import Reply, WebProbe, has_credentials, probe, tls_arguments
from dicom_mcp.model.target import Target, WebSettings

STEPS: Final = ("qido_rs", "credentials", "wado_rs", "decodes_query_strings")
REFUSED: Final = (401, 403)


async def web_row(target: Target, wait: float, limiter: anyio.CapacityLimiter) -> Row:
    """Check one DICOMweb node."""
    assert target.web is not None
    web = target.web
    reached = await anyio.to_thread.run_sync(
        reach, target.host, target.port, lambda: tls_arguments(target), wait, limiter=limiter
    )
    cells = dict(reached.cells)
    if reached.address is None:
        cells.update({step: skipped(f"not tried: {reached.failed or 'tls'} failed") for step in STEPS})
    else:
        uids = [f"2.25.{uuid.uuid4().int}" for _ in range(3)]  # a study, series and instance no one has
        cells.update(judged(await probe(target, wait, *uids), web, target.describe(), wait))
    return Row(target.name or "default", "dicomweb", web.url, cells)


def judged(probed: WebProbe, web: WebSettings, where: str, timeout: float) -> dict[str, Cell]:
    """The cells of a probe's answers."""
    search = probed.search
    if search.status is None:
        if search.cause == "CredentialsUnreadable":
            cells = {"qido_rs": skipped("not tried: the credentials cannot be read")}
            cells["credentials"] = Cell("failed", "unreadable", search.failure)
        else:
            cells = {"qido_rs": Cell("failed", _unanswered(search, timeout), search.failure)}
            cells["credentials"] = skipped("not tried: QIDO-RS did not answer")
        cells["wado_rs"] = skipped("not tried: QIDO-RS did not answer")
        cells["decodes_query_strings"] = _decodes(probed.decodes_query_strings, web)
        return cells
    return {
        "qido_rs": _search_cell(search, where),
        "credentials": _credentials_cell(search, probed.anonymous, web, where),
        "wado_rs": _metadata_cell(probed.metadata, where, timeout, refused=search.status in REFUSED),
        "decodes_query_strings": _decodes(probed.decodes_query_strings, web),
    }


def _search_cell(search: Reply, where: str) -> Cell:
    status, took = search.status, search.millis or 0.0
    if status is not None and 200 <= status < 300:
        return Cell("ok", millis(took), f"a study search answered HTTP {status} in {millis(took)}", took)
    if status in REFUSED:
        return Cell(
            "info", f"HTTP {status}", "QIDO-RS answers; the credentials are refused (see CREDENTIALS)"
        )
    words = str(for_status(where, status or 0))
    if status == 404:
        words += ": the node's url must be the DICOMweb root (QIDO-RS answers at <url>/studies)"
    return Cell("failed", f"HTTP {status}", words)


def _credentials_cell(search: Reply, anonymous: Reply | None, web: WebSettings, where: str) -> Cell:
    status = search.status or 0
    if status in REFUSED:
        words = str(for_status(where, status))
        if not has_credentials(web):
            words = f"{where} asks for credentials (HTTP {status}) and the node has none: set its token_file, or username and password_file"
        return Cell("failed", f"refused ({status})", words)
    if not 200 <= status < 300:
        return skipped("not known: the search failed")
    if not has_credentials(web):
        return Cell("ok", "none needed", "the node has no credentials and the archive asks for none")
    if anonymous is not None and anonymous.status is not None and 200 <= anonymous.status < 300:
        words = "accepted, though the archive answers without credentials too (it does not check them)"
        return Cell("ok", "accepted (unchecked)", words)
    return Cell("ok", "accepted", "the archive refuses requests without them and accepts the node's")


def _metadata_cell(metadata: Reply | None, where: str, timeout: float, *, refused: bool) -> Cell:
    """WADO-RS metadata; refused like the search before it (`refused`), it is said once, there."""
    if metadata is None:
        return skipped("not tried")
    status = metadata.status
    if status is None:
        return Cell("failed", _unanswered(metadata, timeout), metadata.failure)
    took = millis(metadata.millis or 0.0)
    if status == 404:
        words = f"the metadata of an instance no one has: HTTP 404, as it should, in {took}"
        return Cell("ok", f"404 {took}", words, metadata.millis)
    if status in REFUSED:
        if refused:
            return Cell("info", f"refused ({status})", "refused like the search (see CREDENTIALS)")
        return Cell("failed", f"refused ({status})", str(for_status(where, status)))
    if 200 <= status < 300:
        words = f"HTTP {status} for the metadata of an instance no one has (a 404 was expected)"
        return Cell("warning", f"HTTP {status}", words)
    return Cell("failed", f"HTTP {status}", str(for_status(where, status)))


def _decodes(decodes: bool | None, web: WebSettings) -> Cell:
    """Whether the archive decodes query strings ("-": it holds no study to tell by)."""
    if decodes is None:
        return Cell("info", "-", "not known: the archive found no study for PatientID * (or did not answer)")
    if decodes:
        return Cell("ok", "yes", "the archive percent-decodes query strings")
    if web.local_matching is False:  # said so in the nodes file, wrongly
        return Cell("warning", "no", "the archive does not decode query strings: set local_matching = true")
    return Cell("ok", "no", "the archive does not decode query strings; values are matched here")


def _unanswered(reply: Reply, timeout: float) -> str:
    return no_answer(timeout) if reply.cause == "PacsTimeout" else "unreachable"
