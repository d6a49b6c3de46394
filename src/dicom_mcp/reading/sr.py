"""A DICOM Structured Report as a readable outline, and the facts a report result carries.

The outline's first line is the document title; each content item is one line, indented two
spaces per level: CONTAINER items as headings, others as `Concept: value`. Relationship types
are left out. Items and depth are capped so that a hostile SR cannot blow the outline up.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from typing import Final

from pydicom.dataset import Dataset
from pydicom.uid import UID

from dicom_mcp.reading.attributes import DATASET_ERRORS, first, items, text, values

MAX_ITEMS: Final = 10_000
MAX_DEPTH: Final = 32
_INDENT: Final = "  "
# Labels for items that have no concept name (usual for IMAGE and COMPOSITE); others show their value only.
_UNNAMED: Final = {"IMAGE": "Image", "COMPOSITE": "Composite"}
WITHHELD: Final = "[free text withheld in the pseudonymised view]"
_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_TIME = re.compile(r"(\d{2})(\d{2})?(\d{2})?")


class Outline:
    """The lines of an SR's outline, made lazily; `truncated` is set once a cap cuts it."""

    def __init__(
        self, ds: Dataset, max_items: int = MAX_ITEMS, max_depth: int = MAX_DEPTH, redact: str | None = None
    ) -> None:
        """`redact`, for the pseudonymised view: "withhold" leaves out person names and free text,
        "scrub" person names only (the view's boundary scrubs the text)."""
        self._ds = ds
        self._redact = redact
        self._max_items = max_items
        self._max_depth = max_depth
        self._items = 0
        self.truncated = False

    def __iter__(self) -> Iterator[str]:
        self._items, self.truncated = 0, False
        yield _title(self._ds) or "Structured report"
        yield from self._children(self._ds, 1)

    def _children(self, item: Dataset, level: int) -> Iterator[str]:
        content = items(item, "ContentSequence")
        if content and level > self._max_depth:
            self.truncated = True
            yield f"{_INDENT * level}[deeper content omitted]"
            return
        for child in content:
            if self._items >= self._max_items:
                if not self.truncated:
                    yield f"[outline cut at {self._max_items} items]"
                self.truncated = True
                return
            self._items += 1
            if self._redact and text(child, "ValueType") == "PNAME":
                continue  # a person's name: never in the pseudonymised view
            if self._redact == "withhold" and text(child, "ValueType") == "TEXT":
                name = _meaning(child, "ConceptNameCodeSequence") or _UNNAMED.get("TEXT")
                lines = [f"{name}: {WITHHELD}" if name else WITHHELD]
            else:
                lines = _describe(child).splitlines() or [""]
            yield _INDENT * level + lines[0]
            yield from (_INDENT * (level + 1) + line for line in lines[1:])
            yield from self._children(child, level + 1)


def outline(ds: Dataset, max_items: int = MAX_ITEMS, max_depth: int = MAX_DEPTH) -> str:
    """The SR as an indented outline (title first), at most `max_items` content items."""
    return "\n".join(Outline(ds, max_items, max_depth))


def report_facts(ds: Dataset) -> dict[str, str | None]:
    """Title, content date (YYYY-MM-DD), completion and verification flags, verifying observer."""
    observer = first(ds, "VerifyingObserverSequence")
    return {
        "title": _report_title(ds),
        "content_date": iso_date(text(ds, "ContentDate")),
        "completion_flag": text(ds, "CompletionFlag"),
        "verification_flag": text(ds, "VerificationFlag"),
        "verifying_observer": text(observer, "VerifyingObserverName"),
    }


def iso_date(value: str | None) -> str | None:
    """A DICOM date (YYYYMMDD) as YYYY-MM-DD, or None unless it is a valid date."""
    match = _DATE.fullmatch(value.strip()) if value else None
    if match is None:
        return None
    try:
        return dt.date(*(int(part) for part in match.groups())).isoformat()
    except ValueError:
        return None


def _title(ds: Dataset) -> str | None:
    return _meaning(ds, "ConceptNameCodeSequence")


def _report_title(ds: Dataset) -> str | None:
    """An SR's title is its root's concept name; an encapsulated document's, its DocumentTitle."""
    if "ValueType" in ds:
        return _title(ds) or text(ds, "DocumentTitle")
    return text(ds, "DocumentTitle") or _title(ds)


def _describe(item: Dataset) -> str:
    """One content item as a line (text items may span several)."""
    if "ValueType" not in item and "ReferencedContentItemIdentifier" in item:
        path = ".".join(str(number) for number in values(item, "ReferencedContentItemIdentifier"))
        return f"(see content item {path})"
    kind = text(item, "ValueType") or ""
    try:
        name = _meaning(item, "ConceptNameCodeSequence")
        if kind == "CONTAINER":
            return name or "(untitled section)"
        value = _FORMATTERS.get(kind, _unknown)(item)
    except DATASET_ERRORS:
        name, value = None, f"(unreadable {kind or 'content'} item)"
    label = name or _UNNAMED.get(kind)
    return f"{label}: {value}" if label else value


def _text(item: Dataset) -> str:
    return text(item, "TextValue") or ""


def _code(item: Dataset) -> str:
    return _meaning(item, "ConceptCodeSequence") or "(no code)"


def _num(item: Dataset) -> str:
    measured = first(item, "MeasuredValueSequence")
    if measured is None:
        qualifier = _meaning(item, "NumericValueQualifierCodeSequence")
        return f"({qualifier})" if qualifier else "(no value)"
    number = "\\".join(str(value) for value in values(measured, "NumericValue"))
    unit = _unit(first(measured, "MeasurementUnitsCodeSequence"))
    return f"{number} {unit}" if unit else number


def _unit(code: Dataset | None) -> str | None:
    """UCUM's symbol ("mm") where it is one, else the unit's meaning; None for "no units" (1)."""
    if code is None:
        return None
    value = text(code, "CodeValue")
    if value == "1" and text(code, "CodingSchemeDesignator") == "UCUM":
        return None
    if value and text(code, "CodingSchemeDesignator") == "UCUM" and not value.startswith("{"):
        return value
    return text(code, "CodeMeaning") or value


def _date(item: Dataset) -> str:
    value = text(item, "Date") or ""
    return iso_date(value) or value


def _time(item: Dataset) -> str:
    return _iso_time(text(item, "Time") or "")


def _datetime(item: Dataset) -> str:
    value = text(item, "DateTime") or ""
    date = iso_date(value[:8])
    return f"{date} {_iso_time(value[8:])}".strip() if date else value


def _iso_time(value: str) -> str:
    """HHMMSS as HH:MM:SS; a fraction or a time zone offset is kept as written after it."""
    match = _TIME.match(value)
    if match is None:
        return value.strip()
    return ":".join(part for part in match.groups() if part) + value[match.end() :].strip()


def _pname(item: Dataset) -> str:
    return text(item, "PersonName") or ""


def _uidref(item: Dataset) -> str:
    return text(item, "UID") or ""


def _reference(item: Dataset) -> str:
    referenced = first(item, "ReferencedSOPSequence")
    if referenced is None:
        return "(no reference)"
    sop_class = text(referenced, "ReferencedSOPClassUID")
    parts = [UID(sop_class).name if sop_class else "(unknown SOP class)"]
    parts.append(text(referenced, "ReferencedSOPInstanceUID") or "(no instance UID)")
    frames = values(referenced, "ReferencedFrameNumber")
    if frames:
        parts.append(f"(frame{'s' if len(frames) > 1 else ''} {', '.join(str(f) for f in frames)})")
    return " ".join(parts)


def _scoord(item: Dataset) -> str:
    dimensions = 3 if text(item, "ValueType") == "SCOORD3D" else 2
    points = len(values(item, "GraphicData")) // dimensions
    shape = text(item, "GraphicType") or "shape"
    return f"{'3D ' if dimensions == 3 else ''}spatial coordinates ({shape}, {points} point{'s' * (points != 1)})"


def _tcoord(item: Dataset) -> str:
    return f"temporal coordinates ({text(item, 'TemporalRangeType') or 'range'})"


def _waveform(item: Dataset) -> str:
    return f"waveform ({_reference(item)})"


def _unknown(item: Dataset) -> str:
    return f"({text(item, 'ValueType') or 'untyped'} item)"


_FORMATTERS: Final[dict[str, Callable[[Dataset], str]]] = {
    "TEXT": _text,
    "CODE": _code,
    "NUM": _num,
    "DATE": _date,
    "TIME": _time,
    "DATETIME": _datetime,
    "PNAME": _pname,
    "UIDREF": _uidref,
    "IMAGE": _reference,
    "COMPOSITE": _reference,
    "WAVEFORM": _waveform,
    "SCOORD": _scoord,
    "SCOORD3D": _scoord,
    "TCOORD": _tcoord,
}


def _meaning(ds: Dataset, keyword: str) -> str | None:
    """The CodeMeaning of a code sequence's first item (its CodeValue when it has no meaning)."""
    code = first(ds, keyword)
    return text(code, "CodeMeaning") or text(code, "CodeValue") if code else None
