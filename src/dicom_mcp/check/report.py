"""A report as the operator reads it (a table per kind of row, then every problem in words) or as
a program reads it (`--json`: one JSON document)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from dicom_mcp.check.cells import Report, Row
from dicom_mcp.model.values import JsonValue

SCHEMA: Final = 1
REACH: Final = {"resolve": "RESOLVE", "connect": "TCP", "tls": "TLS"}
DIMSE_COLUMNS: Final = {
    **REACH,
    "association": "ASSOCIATION",
    "echo": "C-ECHO",
    "patient_root": "PATIENT ROOT",
    "study_root": "STUDY ROOT",
    "c_get": "C-GET",
    "c_move": "C-MOVE",
}
WEB_COLUMNS: Final = {
    **REACH,
    "qido_rs": "QIDO-RS",
    "credentials": "CREDENTIALS",
    "wado_rs": "WADO-RS METADATA",
    "decodes_query_strings": "DECODES QUERY STRINGS",
}
LABELS: Final = {**DIMSE_COLUMNS, **WEB_COLUMNS, "result": "RESULT"}
GAP: Final = "  "


def table(report: Report, exit_status: int) -> str:
    """The report as text: the tables, the problems, and the verdict."""
    receiver = f"; C-MOVE to the receiver {report.receiver}" if report.receiver else "; no receiver"
    lines = [
        f"dicom-mcp check: calling AE title {report.calling_ae_title}, each step within "
        f"{report.timeout:g} s{receiver}",
        "",
    ]
    dimse, web, parts = report.of_kind("dimse"), report.of_kind("dicomweb"), report.of_kind("service")
    if dimse:
        lines += _grid(
            ["DIMSE NODE", "CALLED AE@HOST:PORT", *DIMSE_COLUMNS.values(), "RESULT"], dimse, DIMSE_COLUMNS
        )
    if web:
        lines += _grid(["DICOMWEB NODE", "URL", *WEB_COLUMNS.values(), "RESULT"], web, WEB_COLUMNS)
    part_cells = [
        [row.name, row.where, row.cells["result"].status, row.cells["result"].text] for row in parts
    ]
    lines += [*_aligned(["PART", "WHERE", "STATUS", "RESULT"], part_cells), ""]
    lines += _problems(report.rows)
    failed = sum(row.failed for row in report.rows)
    if failed:
        lines.append(f"{failed} of {len(report.rows)} nodes and parts failed: exit status {exit_status}")
    else:
        lines.append(f"Everything the service needs answers: exit status {exit_status}")
    return "\n".join(lines)


def _grid(header: list[str], rows: Sequence[Row], columns: dict[str, str]) -> list[str]:
    body = [[row.name, row.where, *(_text(row, key) for key in columns), row.verdict] for row in rows]
    return [*_aligned(header, body), ""]


def _text(row: Row, key: str) -> str:
    cell = row.cells.get(key)
    return "-" if cell is None else cell.text


def _aligned(header: list[str], body: list[list[str]]) -> list[str]:
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    return [
        GAP.join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip()
        for line in [header, *body]
    ]


def _problems(rows: Sequence[Row]) -> list[str]:
    """Every failed and warning cell, in words; info and skipped cells stay in the table."""
    found = [
        [
            cell.status.upper() if cell.status == "failed" else cell.status,
            row.name,
            LABELS.get(key, key),
            cell.detail,
        ]
        for row in rows
        for key, cell in row.cells.items()
        if cell.status in ("failed", "warning")
    ]
    if not found:
        return []
    return ["Problems", *("  " + line for line in _aligned(["", "", "", ""], found)[1:]), ""]


def document(report: Report, exit_status: int) -> dict[str, JsonValue]:
    """The report as one JSON document (`--json`)."""
    return {
        "schema": SCHEMA,
        "ok": not report.failed,
        "exit_status": exit_status,
        "calling_ae_title": report.calling_ae_title,
        "timeout_seconds": report.timeout,
        "receiver": report.receiver,
        "nodes": [_row_json(row) for row in report.rows if row.kind != "service"],
        "parts": [_row_json(row) for row in report.rows if row.kind == "service"],
    }


def _row_json(row: Row) -> dict[str, JsonValue]:
    return {
        "name": row.name,
        "kind": row.kind,
        "where": row.where,
        "ok": not row.failed,
        "checks": {key: cell.as_json() for key, cell in row.cells.items()},
    }
