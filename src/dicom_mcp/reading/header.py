"""A DICOM instance's header as JSON: every attribute by keyword, bulk data summarised.

Values follow the query results (`dicom.values.element_value`): person names as strings,
multi-values as lists, DS/IS as numbers, text decoded per Specific Character Set. Bulk data
(pixels, overlays, curves, waveforms, documents, any binary VR, any value over `BULK_BYTES`)
becomes `{"bulk_data": true, "vr": ..., "bytes": ...}`. Elements without a keyword (private
ones above all) are keyed "(gggg,eeee)" as `{"vr", "value"}`, the value shown only when short
and printable (else null, with "bytes"). Sequences are lists of objects, capped in depth and
length; the whole is capped in elements and bytes, and `truncated` says whether a cap cut it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag, Tag
from pydicom.uid import UID

from dicom_mcp.model.values import JsonValue, element_value
from dicom_mcp.reading.attributes import DATASET_ERRORS, text

BULK_BYTES: Final = 4096
MAX_DEPTH: Final = 6  # sequence nesting shown
MAX_ITEMS: Final = 64  # items shown per sequence
MAX_ELEMENTS: Final = 5000  # elements shown in all
MAX_BYTES: Final = 256 * 1024  # value bytes shown in all
PRIVATE_BYTES: Final = 256

_BINARY_VRS: Final = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})
_BULK_TAGS: Final = frozenset(
    {
        0x7FE00008,  # Float Pixel Data
        0x7FE00009,  # Double Float Pixel Data
        0x7FE00010,  # Pixel Data
        0x54001010,  # Waveform Data
        0x00420011,  # Encapsulated Document
        0x56000020,  # Spectroscopy Data
    }
)
# Repeating groups: Overlay Data (60xx,3000), Curve Data (50xx,3000), Audio Sample Data (50xx,200C).
_BULK_REPEATING: Final = frozenset({0x60003000, 0x50003000, 0x5000200C})
_UNDEFINED_LENGTH: Final = 0xFFFFFFFF


@dataclass
class _Budget:
    """What is left to show; `truncated` is set once any cap has cut something."""

    elements: int = MAX_ELEMENTS
    bytes: int = MAX_BYTES
    truncated: bool = False


def header(ds: Dataset) -> dict[str, JsonValue]:
    """The instance's identity, SOP class, transfer syntax and attributes, JSON-safe and bounded."""
    budget = _Budget()
    attributes = _attributes(ds, 0, budget)
    file_meta = getattr(ds, "file_meta", None)
    transfer_syntax = file_meta.get("TransferSyntaxUID") if file_meta is not None else None
    sop_class_uid = text(ds, "SOPClassUID")
    return {
        "sop_instance_uid": text(ds, "SOPInstanceUID"),
        "sop_class_uid": sop_class_uid,
        "sop_class": UID(sop_class_uid).name if sop_class_uid else None,
        "transfer_syntax": UID(str(transfer_syntax)).name if transfer_syntax else None,
        "attributes": attributes,
        "truncated": budget.truncated,
    }


def _attributes(ds: Dataset, depth: int, budget: _Budget) -> dict[str, JsonValue]:
    shown: dict[str, JsonValue] = {}
    for tag in sorted(ds.keys()):
        if tag >> 16 == 0x0002:  # file meta, reported as transfer_syntax
            continue
        if budget.elements <= 0 or budget.bytes <= 0:
            budget.truncated = True
            break
        budget.elements -= 1
        shown[_key(tag)] = _entry(ds, Tag(tag), depth, budget)
    return shown


def _key(tag: BaseTag) -> str:
    keyword = keyword_for_tag(tag)
    if not keyword:
        return str(Tag(tag))
    # Repeating groups (60xx, 50xx) share a keyword; only the base group keeps it.
    if tag_for_keyword(keyword) == tag or (tag_for_keyword(keyword) is None and tag & 0x00FF0000 == 0):
        return keyword
    return str(Tag(tag))


def _entry(ds: Dataset, tag: BaseTag, depth: int, budget: _Budget) -> JsonValue:
    raw = ds.get_item(tag, keep_deferred=True)
    vr, size = _raw_vr(tag, raw), _size(raw)
    named = not tag.is_private and bool(keyword_for_tag(tag))
    if named and vr != "SQ" and _is_bulk(tag, vr, size):
        return {"bulk_data": True, "vr": _resolved_vr(ds, tag, vr), "bytes": size}
    if not named and vr != "SQ" and size > PRIVATE_BYTES:
        return {"vr": _resolved_vr(ds, tag, vr), "value": None, "bytes": size}
    try:
        element = ds[tag]
    except DATASET_ERRORS:
        return {"unreadable": True, "vr": vr, "bytes": size}
    if element.VR == "SQ":  # its items' elements count against the budget themselves
        items = _sequence(element, depth, budget)
        return items if named else {"vr": "SQ", "value": items}
    budget.bytes -= size
    if named:
        return _value(element)
    return _unnamed(element, size)


def _raw_vr(tag: BaseTag, raw: DataElement | RawDataElement | None) -> str:
    # A known element sent as UN is read with its dictionary VR (pydicom's replace_un_with_known_vr).
    if raw is not None and raw.VR and not (raw.VR == "UN" and keyword_for_tag(tag)):
        return str(raw.VR)
    try:
        return dictionary_VR(tag)
    except KeyError:
        return "UN"


def _resolved_vr(ds: Dataset, tag: BaseTag, vr: str) -> str:
    """An ambiguous dictionary VR ("OB or OW") as pydicom resolves it for this data set."""
    if " or " not in vr:
        return vr
    try:
        return str(ds[tag].VR)
    except DATASET_ERRORS:
        return vr


def _size(element: DataElement | RawDataElement | None) -> int:
    """The value's encoded length in bytes (approximate for values built in memory)."""
    if element is None:
        return 0
    value = element.value
    if isinstance(element, RawDataElement):
        if value is None:  # deferred read: only the header's length is known
            return 0 if element.length == _UNDEFINED_LENGTH else element.length
        return len(value)
    if element.VR == "SQ" or value is None:
        return 0
    if isinstance(value, bytes | bytearray):
        return len(value)
    if isinstance(value, str):
        return len(value.encode("utf-8", "replace"))
    if isinstance(value, MultiValue | list | tuple):
        return sum(len(str(item)) + 1 for item in value)
    return len(str(value))


def _is_bulk(tag: BaseTag, vr: str, size: int) -> bool:
    return (
        tag in _BULK_TAGS
        or tag & 0xFF00FFFF in _BULK_REPEATING
        or any(part in _BINARY_VRS for part in vr.split(" or "))
        or size > BULK_BYTES
    )


def _sequence(element: DataElement, depth: int, budget: _Budget) -> JsonValue:
    items = list(element.value)
    if depth >= MAX_DEPTH:
        budget.truncated = True
        return {"sequence_items": len(items)}
    shown: list[JsonValue] = [_attributes(item, depth + 1, budget) for item in items[:MAX_ITEMS]]
    if len(items) > MAX_ITEMS:
        budget.truncated = True
        shown.append({"more_items": len(items) - MAX_ITEMS})
    return shown


def _value(element: DataElement) -> JsonValue:
    if element.VR == "AT" and not element.is_empty:
        tags = element.value if isinstance(element.value, MultiValue | list) else [element.value]
        texts = [str(Tag(tag)) for tag in tags]
        return texts[0] if len(texts) == 1 else list(texts)
    return _finite(element_value(element))


def _finite(value: JsonValue) -> JsonValue:
    """NaN and infinities as strings: JSON has no literal for them."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def _unnamed(element: DataElement, size: int) -> JsonValue:
    """A private (or unknown) element: its VR, and its value only when short and printable."""
    shown = _printable_value(element)
    if shown is None and size:
        return {"vr": element.VR, "value": None, "bytes": size}
    return {"vr": element.VR, "value": shown}


def _printable_value(element: DataElement) -> JsonValue:
    value = element.value
    if isinstance(value, bytes | bytearray):
        stripped = bytes(value).rstrip(b"\x00 ")
        decoded = stripped.decode("ascii") if stripped.isascii() else ""
        return decoded if decoded and _printable(decoded) else None
    if isinstance(value, str):
        return value if value and _printable(value) else None
    return _value(element)


def _printable(text: str) -> bool:
    return all(char.isprintable() or char in "\r\n\t" for char in text)
