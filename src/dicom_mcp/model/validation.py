"""Checks on caller-supplied matching values and return keys, before they become a C-FIND identifier.

Every check raises `InvalidQuery` with a message that names the parameter and the rule,
never the offending value (it may be patient data). `written` is the one identifier encoder:
the return-key check tries it, and `Query.encode` sends what it writes.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import cache
from typing import Final

from pydicom.datadict import dictionary_VR, repeater_has_keyword, tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset

from dicom_mcp.errors import InvalidQuery

# Longest value each VR admits (PS3.5 table 6.2-1); PN is 64 per component group.
MAX_LENGTH: Final = {"AE": 16, "CS": 16, "SH": 16, "LO": 64, "PN": 64, "IS": 12, "UI": 64, "DA": 17, "TM": 28}
# Identifiers as PACS hold them: the standard's UIDs (digits and dots, PS3.5 9.1) and what some
# systems store in their place (hexadecimal hashes, UUIDs with hyphens, leading zeros). Each of
# these characters matches only itself wherever a key is matched: none is a DICOM wildcard (* ?),
# the list separator (a backslash), an SQL LIKE wildcard (% _) for archives that match through a
# database, or a space, which a PACS may trim into an empty, match-everything key; a hyphen marks
# a range for dates and times only (PS3.4 C.2.2.2.5), never for UIDs. All are unreserved in URLs.
_UID: Final = re.compile(r"[0-9A-Za-z.-]{1,64}")
_CS: Final = re.compile(r"[A-Z0-9 _*?]*")
_IS: Final = re.compile(r"[+-]?[0-9]+")
_DATE: Final = re.compile(r"[0-9]{8}")
# Group 0x0000 is the DIMSE command set and 0x0002 the file meta: never query keys.
_FORBIDDEN_GROUPS: Final = (0x0000, 0x0002)
# Binary VRs: bulk data (pixels, waveforms, LUTs, documents), never a C-FIND key. Ambiguous
# entries such as "OB or OW" or "US or OW" count when any of their VRs is one of these.
_BULK_VRS: Final = frozenset({"OB", "OW", "OF", "OD", "OL", "OV", "UN"})


def _is_control(ch: str) -> bool:
    """C0 and C1 controls, DEL, and the Unicode line and paragraph separators."""
    code = ord(ch)
    return code < 0x20 or 0x7F <= code <= 0x9F or code in (0x2028, 0x2029)


def check_text(param: str, value: str, vr: str) -> str:
    """Check a single text value: no list separator, no control characters, within the VR's length."""
    if "\\" in value:
        raise InvalidQuery(f"{param} must be a single value: a backslash (list matching) is not allowed")
    if any(_is_control(ch) for ch in value):
        raise InvalidQuery(f"{param} must not contain control characters")
    limit = MAX_LENGTH.get(vr, 64)
    if vr == "PN":
        if any(len(group) > limit for group in value.split("=")):
            raise InvalidQuery(f"{param} is too long: at most {limit} characters per name component group")
    elif len(value) > limit:
        raise InvalidQuery(f"{param} is too long: at most {limit} characters for VR {vr}")
    return value


def check_uid(param: str, value: str) -> str:
    """Check a UID as PACS hold them: 1 to 64 letters, digits, dots or hyphens (see `_UID`)."""
    if not _UID.fullmatch(value):
        raise InvalidQuery(f"{param} must be a DICOM UID: 1 to 64 letters, digits, dots or hyphens")
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


def check_date(param: str, value: str) -> str:
    """Check a date `YYYYMMDD`, or a range `A-B`, `A-` or `-B` of such dates."""
    if "-" in value:
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


def check_return_key(param: str, keyword: str) -> str:
    """Check that `keyword` can be a C-FIND return key: a header attribute an identifier can carry."""
    if repeater_has_keyword(keyword):
        raise InvalidQuery(
            f"{param}: {keyword!r} belongs to a repeating group (overlay or curve, 50xx/60xx) "
            "and cannot be a query key"
        )
    vr = full_vr(check_keyword(param, keyword))
    if _BULK_VRS.intersection(vr.split(" or ")):
        raise InvalidQuery(
            f"{param}: {keyword!r} is bulk data (VR {vr}) and cannot be a query key; "
            "ask for header attributes such as Rows or BitsAllocated"
        )
    if vr == "SQ":
        raise InvalidQuery(
            f"{param}: {keyword!r} is a sequence (VR SQ) and cannot be a query key; "
            "ask for single-valued attributes instead"
        )
    if vr == "NONE":
        raise InvalidQuery(f"{param}: {keyword!r} marks sequence items, it is not an attribute")
    if not _encodable(keyword):
        raise InvalidQuery(
            f"{param}: {keyword!r} cannot be encoded in a query identifier (VR {vr} cannot be "
            "resolved without the image's own attributes)"
        )
    return keyword


@cache
def _encodable(keyword: str) -> bool:
    """Whether a known keyword, empty, can be written in implicit and in explicit VR."""
    return all(writable(keyword, implicit_vr=implicit, little_endian=True) for implicit in (True, False))


def writable(keyword: str, *, implicit_vr: bool, little_endian: bool) -> bool:
    """Whether a known keyword, empty and alone, can be written with this encoding."""
    single = Dataset()
    setattr(single, keyword, None)
    try:
        written(single, implicit_vr=implicit_vr, little_endian=little_endian)
    except Exception:  # pydicom raises ValueError, TypeError, ... for VRs it cannot resolve
        return False
    return True


def written(ds: Dataset, *, implicit_vr: bool, little_endian: bool) -> bytes:
    """`ds` encoded by pydicom, which raises (ValueError, TypeError, ...) on what it cannot write."""
    fp = DicomBytesIO()
    fp.is_implicit_VR, fp.is_little_endian = implicit_vr, little_endian
    write_dataset(fp, ds)
    return fp.getvalue()


def full_vr(keyword: str) -> str:
    """The VR of a known keyword as the dictionary gives it, e.g. 'US or SS' for ambiguous entries."""
    tag = tag_for_keyword(keyword)
    if tag is None:  # pragma: no cover - callers check keywords first
        raise InvalidQuery(f"{keyword!r} is not a DICOM attribute keyword")
    return dictionary_VR(tag)


def vr_of(keyword: str) -> str:
    """The VR of a known keyword (the first one, for ambiguous 'US or SS' entries)."""
    return full_vr(keyword).split(" ")[0]
