"""A report instance (SR, encapsulated PDF or CDA) as the `read_report` tool's result."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Literal

from pydicom.dataset import Dataset
from pydicom.uid import UID

from dicom_mcp.errors import ReportUnreadable
from dicom_mcp.reading import attributes
from dicom_mcp.reading.cda import cda_text
from dicom_mcp.reading.pdf import MAX_PAGES, TIME_LIMIT, pdf_text
from dicom_mcp.reading.sr import Outline, report_facts

ENCAPSULATED_PDF: Final = "1.2.840.10008.5.1.4.1.1.104.1"
ENCAPSULATED_CDA: Final = "1.2.840.10008.5.1.4.1.1.104.2"
ReportKind = Literal["sr", "pdf", "cda"]
ReportValue = str | bool | None


def report_kind(ds: Dataset) -> ReportKind | None:
    """ "pdf" or "cda" for encapsulated documents, "sr" for a structured report, else None."""
    sop_class = attributes.text(ds, "SOPClassUID")
    if sop_class == ENCAPSULATED_PDF:
        return "pdf"
    if sop_class == ENCAPSULATED_CDA:
        return "cda"
    # Every SR document's root content item is a CONTAINER (SR Document Content Module).
    if attributes.text(ds, "ValueType") == "CONTAINER":
        return "sr"
    return None


def report(
    ds: Dataset,
    max_chars: int,
    pdf_time_limit: float = TIME_LIMIT,
    pdf_max_pages: int = MAX_PAGES,
    redact: str | None = None,
) -> dict[str, ReportValue]:
    """The report's identity, facts (title, date, flags, observer) and text, cut at `max_chars`.

    `redact` writes an SR's outline for the pseudonymised view (`sr.Outline`).

    Raises:
        ReportUnreadable: the instance is not a report, or its document cannot be read.
    """
    kind = report_kind(ds)
    if kind == "sr":
        text, truncated = _sr_text(ds, max_chars, redact)
    elif kind == "pdf":
        text, truncated = pdf_text(_document(ds), max_chars, pdf_time_limit, pdf_max_pages)
    elif kind == "cda":
        text, truncated = cda_text(_document(ds), max_chars)
    else:
        sop_class = attributes.text(ds, "SOPClassUID")
        raise ReportUnreadable(f"not a report: {UID(sop_class).name if sop_class else 'no SOP class'}")
    return {
        "sop_instance_uid": attributes.text(ds, "SOPInstanceUID"),
        "series_instance_uid": attributes.text(ds, "SeriesInstanceUID"),
        "kind": kind,
        **report_facts(ds),
        "text": text,
        "truncated": truncated,
    }


def _sr_text(ds: Dataset, max_chars: int, redact: str | None) -> tuple[str, bool]:
    lines = Outline(ds, redact=redact)
    text, cut = _take(lines, max_chars)
    return text, cut or lines.truncated


def _take(lines: Iterable[str], max_chars: int) -> tuple[str, bool]:
    """Join lines until there are more than `max_chars` characters; the text, cut, and whether it was."""
    taken: list[str] = []
    size = -1  # no newline before the first line
    for line in lines:
        taken.append(line)
        size += len(line) + 1
        if size > max_chars:
            return "\n".join(taken)[:max_chars], True
    return "\n".join(taken), False


def _document(ds: Dataset) -> bytes:
    """The encapsulated document's bytes, without the padding to an even length."""
    data = attributes.get(ds, "EncapsulatedDocument")
    if not isinstance(data, bytes) or not data:
        raise ReportUnreadable("the instance holds no encapsulated document")
    length = attributes.get(ds, "EncapsulatedDocumentLength")
    if isinstance(length, int) and 0 < length <= len(data):
        return data[:length]
    return data
