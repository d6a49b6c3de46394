"""What `dicom-mcp check` found, as data: a cell per step, a row per node or part, one report.

A cell's status says what it means for the service:

    ok        works as the service needs it
    info      a fact, no judgement (a service the node's configuration does not use)
    warning   works, with something the operator should know (a certificate near its end)
    failed    the service cannot work as configured: the check exits non-zero
    skipped   not tried, because an earlier step failed
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from dicom_mcp.model.values import JsonValue

Status = Literal["ok", "info", "warning", "failed", "skipped"]


@dataclass(frozen=True)
class Cell:
    """One step's outcome: `text` for the table, `detail` in words, `value` for machines."""

    status: Status
    text: str
    detail: str = ""
    value: JsonValue = None

    def as_json(self) -> dict[str, JsonValue]:
        return {"status": self.status, "text": self.text, "detail": self.detail, "value": self.value}


@dataclass(frozen=True)
class Row:
    """A node, or a part of the service's own configuration (the session store, the API keys...)."""

    name: str
    kind: str  # "dimse", "dicomweb" or "service"
    where: str  # an address, a URL or a file; never a credential
    cells: Mapping[str, Cell]

    @property
    def failed(self) -> bool:
        return any(cell.status == "failed" for cell in self.cells.values())

    @property
    def verdict(self) -> str:
        if self.failed:
            return "FAILED"
        warnings = sum(cell.status == "warning" for cell in self.cells.values())
        return "ok" if not warnings else f"ok, {warnings} warning{'s' * (warnings > 1)}"


@dataclass(frozen=True)
class Report:
    """Everything one run found."""

    calling_ae_title: str
    timeout: float
    receiver: str | None  # "AE title on host:port", when there is a receiver
    rows: list[Row] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(row.failed for row in self.rows)

    def of_kind(self, kind: str) -> list[Row]:
        return [row for row in self.rows if row.kind == kind]


def millis(value: float) -> str:
    """A round trip as the table shows it."""
    return f"{value:.1f} ms" if value < 1000 else f"{value / 1000:.1f} s"


def skipped(reason: str) -> Cell:
    return Cell("skipped", "-", reason)


def no_answer(timeout: float) -> str:
    """A step that timed out, as the table shows it."""
    return f"no answer {timeout:g} s"
