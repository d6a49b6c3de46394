"""DICOM values as JSON-safe ones: what query results, headers and DICOM JSON all answer with.

`element_value` is the reference conversion (pydicom's element, person names as strings,
multi-values as lists, DS/IS as numbers); `shape_identifier` picks keywords from an identifier.
The DIMSE adapter's faster reader of raw response bytes (`dimse/shaper.py`) gives the same answers.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.valuerep import IS, DSdecimal, DSfloat, PersonName

JsonValue = None | str | int | float | list[Any] | dict[str, Any]

BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})


def shape_identifier(identifier: Dataset, keywords: Iterable[str]) -> dict[str, JsonValue]:
    """Pick `keywords` from a response identifier, as JSON-safe values (None when absent or empty)."""
    return {
        # Not .get(): on a Dataset it returns the value, and the element (with its VR) is needed.
        keyword: element_value(identifier[keyword] if keyword in identifier else None)  # noqa: SIM401
        for keyword in keywords
    }


def element_value(element: DataElement | None) -> JsonValue:
    """Convert one data element's value; person names become strings, multi-values lists."""
    if element is None or element.is_empty:
        return None
    if element.VR in BINARY_VRS:
        return f"<{len(element.value)} bytes of binary data omitted>"
    if element.VR == "SQ":
        return [
            {
                item_element.keyword or str(item_element.tag): element_value(item_element)
                for item_element in item
            }
            for item in element.value
        ]
    value = element.value
    if isinstance(value, MultiValue | list | tuple):
        return [_scalar(item) for item in value]
    return _scalar(value)


def _scalar(value: object) -> JsonValue:
    if value is None or value == "":
        return None
    if isinstance(value, PersonName):
        return str(value)
    if isinstance(value, IS):
        return int(value)
    if isinstance(value, DSfloat | DSdecimal):
        return float(value)
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes):
        return f"<{len(value)} bytes of binary data omitted>"
    return str(value)
