"""Checks on caller-supplied matching values, before they become a C-FIND identifier.

Every check raises `InvalidQuery` with a message that names the parameter and the rule,
never the offending value (it may be patient data).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Final

from pydicom.datadict import dictionary_VR, tag_for_keyword

from dicom_mcp.dicom.errors import InvalidQuery

# Longest value each VR admits (PS3.5 table 6.2-1); PN is 64 per component group.
MAX_LENGTH: Final = {"AE": 16, "CS": 16, "SH": 16, "LO": 64, "PN": 64, "IS": 12, "UI": 64, "DA": 17, "TM": 28}
_UID: Final = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")
_CS: Final = re.compile(r"[A-Z0-9 _*?]*")
_IS: Final = re.compile(r"[+-]?[0-9]+")
_DATE: Final = re.compile(r"[0-9]{8}")
# Group 0x0000 is the DIMSE command set and 0x0002 the file meta: never query keys.
_FORBIDDEN_GROUPS: Final = (0x0000, 0x0002)


def check_text(param: str, value: str, vr: str) -> str:
    """Check a single text value: no list separator, no control characters, within the VR's length."""
    if "\\" in value:
        raise InvalidQuery(f"{param} must be a single value: a backslash (list matching) is not allowed")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise InvalidQuery(f"{param} must not contain control characters")
    limit = MAX_LENGTH.get(vr, 64)
    if vr == "PN":
        if any(len(group) > limit for group in value.split("=")):
            raise InvalidQuery(f"{param} is too long: at most {limit} characters per name component group")
    elif len(value) > limit:
        raise InvalidQuery(f"{param} is too long: at most {limit} characters for VR {vr}")
    return value


def check_uid(param: str, value: str) -> str:
    """Check a UID: digits and dots, no leading zeros in a component, at most 64 characters."""
    if len(value) > 64 or not _UID.fullmatch(value):
        raise InvalidQuery(f"{param} must be a DICOM UID: digits separated by dots, at most 64 characters")
    return value


def check_code(param: str, value: str) -> str:
    """Check a code string (CS): upper-case letters, digits, space, underscore, wildcards."""
    check_text(param, value, "CS")
    if not _CS.fullmatch(value):
        raise InvalidQuery(f"{param} must use upper-case letters, digits, spaces or underscores (e.g. CT)")
    return value


def check_integer(param: str, value: str) -> str:
    """Check an integer string (IS)."""
    if len(value) > MAX_LENGTH["IS"] or not _IS.fullmatch(value.strip()):
        raise InvalidQuery(f"{param} must be an integer of at most 12 characters")
    return value.strip()


def check_date(param: str, value: str, *, allow_range: bool = True) -> str:
    """Check a date `YYYYMMDD`, or a range `A-B`, `A-` or `-B` of such dates."""
    if allow_range and "-" in value:
        start, sep, end = value.partition("-")
        if not (start or end) or "-" in end:
            raise InvalidQuery(
                f"{param} must be YYYYMMDD or a range YYYYMMDD-YYYYMMDD, YYYYMMDD- or -YYYYMMDD"
            )
        first = _parse_date(param, start) if start else None
        last = _parse_date(param, end) if end else None
        if first and last and first > last:
            raise InvalidQuery(f"{param} is a range whose start is after its end")
        return f"{start}{sep}{end}"
    _parse_date(param, value)
    return value


def _parse_date(param: str, value: str) -> dt.date:
    if not _DATE.fullmatch(value):
        raise InvalidQuery(f"{param} must be a date written YYYYMMDD")
    try:
        return dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        raise InvalidQuery(f"{param} is not a real calendar date") from None


def check_keyword(param: str, keyword: str) -> str:
    """Check that `keyword` is a DICOM attribute keyword usable as a return key."""
    tag = tag_for_keyword(keyword) if keyword.isidentifier() else None
    if tag is None:
        raise InvalidQuery(
            f"{param}: {keyword[:64]!r} is not a DICOM attribute keyword (e.g. PatientBirthDate)"
        )
    if (tag >> 16) in _FORBIDDEN_GROUPS:
        raise InvalidQuery(f"{param}: {keyword!r} is a command or file meta attribute, not a query key")
    return keyword


def vr_of(keyword: str) -> str:
    """The VR of a known keyword (the first one, for ambiguous 'US or SS' entries)."""
    tag = tag_for_keyword(keyword)
    if tag is None:  # pragma: no cover - callers check keywords first
        raise InvalidQuery(f"{keyword!r} is not a DICOM attribute keyword")
    return dictionary_VR(tag).split(" ")[0]
