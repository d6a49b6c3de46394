"""DICOM JSON (PS3.18 F.2) to the JSON-safe values C-FIND answers use (`model/values.py`).

The conventions are the DIMSE side's, so both protocols give the same match for the same data:
absent or empty is None, one value a scalar and several a list, a person name the string DICOM
would encode (alphabetic=ideographic=phonetic), IS an int, DS a float, binary data a note of its
size, a sequence a list of dicts keyed by keyword.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from pydicom.datadict import keyword_for_tag, tag_for_keyword
from pydicom.tag import Tag

from dicom_mcp.model.values import JsonValue

_BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})
_PN_GROUPS = ("Alphabetic", "Ideographic", "Phonetic")


class NotDicomJson(ValueError):
    """An element is not shaped as PS3.18 F.2 says."""


@lru_cache(maxsize=1024)
def json_tag(keyword: str) -> str:
    """The DICOM JSON key of a keyword: its tag as eight upper-case hex digits."""
    tag = tag_for_keyword(keyword)
    if tag is None:
        raise ValueError(f"{keyword} is not a DICOM keyword")
    return f"{tag:08X}"


def shape(dataset: Mapping[str, Any], keywords: Iterable[str]) -> dict[str, JsonValue]:
    """Pick `keywords` from one DICOM JSON dataset, as JSON-safe values (None when absent or empty).

    Raises:
        NotDicomJson: an element it picks is not an object with a "vr".
    """
    return {keyword: element_value(dataset.get(json_tag(keyword))) for keyword in keywords}


def element_value(element: object) -> JsonValue:
    """Convert one DICOM JSON element."""
    if element is None:
        return None
    if not isinstance(element, Mapping) or not isinstance(element.get("vr"), str):
        raise NotDicomJson("an element is not an object with a vr")
    vr = element["vr"]
    if vr in _BINARY_VRS or "InlineBinary" in element or "BulkDataURI" in element:
        return _binary(element)
    values = element.get("Value")
    if not values:
        return None
    if not isinstance(values, list):
        raise NotDicomJson("an element's Value is not an array")
    if vr == "SQ":
        return [_item(item) for item in values]
    items = [_scalar(vr, value) for value in values]
    return items[0] if len(items) == 1 else items


def _item(item: object) -> dict[str, JsonValue]:
    if not isinstance(item, Mapping):
        raise NotDicomJson("a sequence item is not an object")
    return {_keyword(key): element_value(value) for key, value in sorted(item.items())}


def _keyword(key: str) -> str:
    try:
        tag = Tag(int(key, 16))
    except ValueError:
        raise NotDicomJson("a key is not a tag") from None
    return keyword_for_tag(tag) or str(tag)


def _scalar(vr: str, value: object) -> JsonValue:
    if value is None or value == "":
        return None
    if vr == "PN":
        return _person_name(value)
    try:
        if vr == "IS":
            return int(value) if isinstance(value, int | str) else int(str(value))
        if vr == "DS":
            return float(value) if isinstance(value, int | float | str) else float(str(value))
    except ValueError:
        raise NotDicomJson("a number is not a number") from None
    if isinstance(value, bool | int | float | str):
        return value
    raise NotDicomJson("a value is neither a string nor a number")


def _person_name(value: object) -> str | None:
    """{"Alphabetic": ..., "Ideographic": ..., "Phonetic": ...} as DICOM writes it: A=I=P."""
    if isinstance(value, str):  # not what F.2.2 says, but unambiguous
        return value or None
    if not isinstance(value, Mapping):
        raise NotDicomJson("a person name is not an object")
    groups = [value.get(group) or "" for group in _PN_GROUPS]
    if not all(isinstance(group, str) for group in groups):
        raise NotDicomJson("a person name group is not a string")
    return "=".join(groups).rstrip("=") or None


def _binary(element: Mapping[str, Any]) -> JsonValue:
    inline = element.get("InlineBinary")
    if isinstance(inline, str):
        try:
            size = len(base64.b64decode(inline, validate=True))
        except (binascii.Error, ValueError):
            raise NotDicomJson("InlineBinary is not base64") from None
        return f"<{size} bytes of binary data omitted>" if size else None
    if "BulkDataURI" in element:
        return "<binary data omitted>"
    return None
