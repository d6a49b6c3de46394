"""C-FIND attribute matching by DICOM's rules (PS3.4 C.2.2.2), one key against one stored element.

- Universal: an empty key, or one of only `*`, matches everything, even an absent attribute.
- Single value: equal after trimming DICOM's padding; person names ignore case (as Orthanc's
  default `CaseSensitivePN: false` does) and match the whole name or any one component group.
- Wildcard: `*` (any run) and `?` (one character), for every VR but dates, times, UIDs and binary.
- Range: `a-b`, `a-` and `-b` for DA, TM and DT; a partial time stands for all of its span
  (`1200` is 12:00:00 to 12:00:59.999999). Each attribute is matched on its own; a date range
  and a time range are not combined into one date-time range.
- List: values separated by a backslash match if any one does (UID lists, `CT\\MR`).
- A stored attribute with several values (ModalitiesInStudy) matches if any one value does.
- Sequence: matches if one item of the stored sequence matches every non-empty key of the
  key's item.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from dicom_mcp.model.matching import wildcard

_NO_WILDCARD: Final = frozenset(
    {"DA", "TM", "DT", "UI", "AT", "US", "SS", "UL", "SL", "FL", "FD", "SV", "UV"}
    | {"OB", "OD", "OF", "OL", "OV", "OW", "UN"}
)
_RANGE_VRS: Final = frozenset({"DA", "TM", "DT"})
# How a partial time or date-time is completed at the low and at the high end of its span.
_TM_LOW, _TM_HIGH = "000000.000000", "235959.999999"
_DT_LOW, _DT_HIGH = "00000101000000.000000", "99991231235959.999999"


def matches(key: DataElement, stored: DataElement | None) -> bool:
    """Whether `stored` (None when the entity lacks the attribute) satisfies the matching key."""
    if key.VR == "SQ":
        return _sequence_matches(key, stored)
    wanted = texts(key)
    if all(value.strip("*") == "" for value in wanted):
        return True
    have = texts(stored) if stored is not None else []
    return any(value_matches(key.VR, query, value) for query in wanted for value in have)


def is_universal(key: DataElement) -> bool:
    """Whether the key matches everything (it only asks for the attribute to be returned)."""
    if key.VR == "SQ":
        return not any(_non_empty(item) for item in key.value or ())
    return all(value.strip("*") == "" for value in texts(key))


def texts(element: DataElement) -> list[str]:
    """An element's values as trimmed strings; [] when empty or binary."""
    value = element.value
    if value is None or isinstance(value, bytes | bytearray):
        return []
    values: Iterable[object] = value if isinstance(value, MultiValue | list | tuple) else [value]
    trimmed = [str(item).strip(" \x00") for item in values]
    return [item for item in trimmed if item]


def value_matches(vr: str, query: str, stored: str) -> bool:
    """Whether one stored value satisfies one (non-universal) query value of an attribute of `vr`."""
    if vr in _RANGE_VRS:
        return _in_span(vr, query, stored)
    if vr == "PN":
        return any(_text_matches(query, group, fold=True) for group in _name_forms(stored))
    if vr in _NO_WILDCARD:
        return query == stored
    return _text_matches(query, stored, fold=False)


def _text_matches(query: str, stored: str, fold: bool) -> bool:
    if fold:
        query, stored = _fold(query), _fold(stored)
    if "*" in query or "?" in query:
        return wildcard(query).fullmatch(stored) is not None
    return query == stored


def _fold(text: str) -> str:
    return "=".join(group.rstrip("^ ") for group in text.casefold().split("="))


def _name_forms(stored: str) -> list[str]:
    """A person name whole, and each of its component groups (alphabetic, ideographic, phonetic)."""
    groups = [group for group in stored.split("=") if group]
    return [stored, *groups] if len(groups) > 1 else [stored]


def _in_span(vr: str, query: str, stored: str) -> bool:
    """Single value or range matching of a date, time or date-time."""
    value = _normalised(vr, stored, high=False)
    if value is None:
        return False
    low, dash, high = _split_range(vr, query)
    if not dash:
        single_low, single_high = _normalised(vr, query, False), _normalised(vr, query, True)
        return single_low is not None and single_high is not None and single_low <= value <= single_high
    lower = _normalised(vr, low, high=False) if low else None
    upper = _normalised(vr, high, high=True) if high else None
    if (low and lower is None) or (high and upper is None):
        return False
    return (lower is None or lower <= value) and (upper is None or value <= upper)


def _split_range(vr: str, query: str) -> tuple[str, bool, str]:
    """`a-b` into (a, True, b); a date-time's UTC offset (`-0500`) is not a range's dash."""
    if vr == "DT":
        parts = re.fullmatch(r"([0-9.]*(?:[+-][0-9]{4})?)-([0-9.]*(?:[+-][0-9]{4})?)", query)
        if parts is None or _is_offset(*parts.groups()):
            return query, False, ""
        return parts.group(1), True, parts.group(2)
    low, dash, high = query.partition("-")
    return low, bool(dash), high


def _is_offset(low: str, high: str) -> bool:
    """Whether `low-high` is one date-time and its negative UTC offset (20220916113000-0500).

    DICOM leaves it ambiguous; an hour followed by four digits of at most 1400 reads as an offset,
    not as a range up to a year before 1400.
    """
    return (
        re.fullmatch(r"[0-9]{10,}(\.[0-9]*)?", low) is not None
        and re.fullmatch(r"[0-9]{4}", high) is not None
        and int(high) <= 1400
    )


def _normalised(vr: str, value: str, high: bool) -> str | None:
    """A date, time or date-time as one fixed-width string, a partial one completed low or high."""
    value = value.strip().replace(":", "")
    if vr == "DA":
        value = value.replace(".", "")  # the old ACR-NEMA form, 2021.01.31
        return value if re.fullmatch(r"[0-9]{8}", value) else None
    if vr == "DT":
        value = re.sub(r"[+-][0-9]{4}$", "", value)  # offsets are ignored: all times are local here
        template = _DT_HIGH if high else _DT_LOW
        shape = r"[0-9]{4}([0-9]{2}){0,5}(\.[0-9]{1,6})?"
    else:
        template = _TM_HIGH if high else _TM_LOW
        shape = r"[0-9]{2}([0-9]{2}){0,2}(\.[0-9]{1,6})?"
    if not re.fullmatch(shape, value):
        return None
    whole, _, fraction = value.partition(".")
    point = template.index(".")
    completed = whole + template[len(whole) : point]
    return (
        f"{completed}.{fraction}{template[point + 1 + len(fraction) :]}"
        if fraction
        else completed + template[point:]
    )


def _sequence_matches(key: DataElement, stored: DataElement | None) -> bool:
    wanted = [item for item in key.value or () if _non_empty(item)]
    if not wanted:
        return True
    items = list(stored.value or ()) if stored is not None and stored.VR == "SQ" else []
    return any(
        all(matches(sub_key, item.get(sub_key.tag)) for sub_key in query)
        for query in wanted
        for item in items
    )


def _non_empty(item: Dataset) -> bool:
    return any(not is_universal(element) for element in item)
