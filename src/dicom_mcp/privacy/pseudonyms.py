"""Tokens for one principal: keyed (HMAC-SHA256), stable, and never a plain hash.

PS3.15 Annex E warns that an unkeyed hash of an identifier can be reversed by hashing candidate
identifiers; without the key nobody can make or check a token here.

    UID                    2.25.<128 bits in decimal>   (a valid UID of at most 44 characters)
    Patient ID             P-XXXXXXXXXXXX               (12 base32 characters, 60 bits)
    Accession Number       A-XXXXXXXXXXXX
    Study ID               S-XXXXXXXXXXXX
    Patient Name           PATIENT^<the Patient ID token>

Each patient's dates move by a whole number of days, never zero, within a year either way,
derived from the original Patient ID: the intervals between one patient's studies are kept.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
from typing import Final

UID: Final = "uid"
PATIENT_ID: Final = "patient_id"
ACCESSION: Final = "accession"
STUDY_ID: Final = "study_id"
KINDS: Final = (UID, PATIENT_ID, ACCESSION, STUDY_ID)
IDENTITY: Final = "identity"  # the reverse map's note of what identifies a patient (its token's key)
MAX_OFFSET_DAYS: Final = 365

_PREFIXES: Final = {PATIENT_ID: "P-", ACCESSION: "A-", STUDY_ID: "S-"}
_SHAPES: Final = {
    UID: re.compile(r"2\.25\.[1-9][0-9]{0,38}"),
    **{kind: re.compile(re.escape(prefix) + r"[A-Z2-7]{12}") for kind, prefix in _PREFIXES.items()},
}
_DA: Final = re.compile(r"(\d{4})(\d{2})(\d{2})")
_RANGE: Final = re.compile(r"(\d{8})?-(\d{8})?")
_DT: Final = re.compile(r"\d{8}(\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?)?([+-]\d{4})?")


class Pseudonymiser:
    """Makes one principal's tokens and date offsets."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, kind: str, original: str) -> bytes:
        return hmac.new(self._key, kind.encode() + b"\0" + original.encode(), hashlib.sha256).digest()

    def token(self, kind: str, original: str) -> str:
        """The token of `original` as a `kind` (UID, PATIENT_ID, ACCESSION or STUDY_ID)."""
        mac = self._mac(kind, original)
        if kind == UID:
            return f"2.25.{int.from_bytes(mac[:16], 'big')}"
        return _PREFIXES[kind] + base64.b32encode(mac).decode()[:12]

    def name(self, patient_id: str | None) -> str:
        """The pseudonym name of the patient with this original ID."""
        return "PATIENT^" + (self.token(PATIENT_ID, patient_id) if patient_id else "UNKNOWN")

    def offset(self, patient_id: str) -> int:
        """Days this patient's dates move by: never zero, at most MAX_OFFSET_DAYS either way."""
        number = int.from_bytes(self._mac("days", patient_id)[:8], "big")
        days = 1 + number % MAX_OFFSET_DAYS
        return days if (number >> 32) & 1 else -days


def is_token(kind: str, value: str) -> bool:
    """Whether `value` has the shape of a `kind` token (whether it was ever issued is another matter)."""
    return _SHAPES[kind].fullmatch(value) is not None


def kind_of(value: str) -> str | None:
    """The kind a token's shape says it is, or None."""
    return next((kind for kind in KINDS if is_token(kind, value)), None)


def shift_date(value: str, days: int) -> str | None:
    """A DICOM date (YYYYMMDD) moved by `days`; None when it is not a valid date."""
    match = _DA.fullmatch(value.strip())
    if match is None:
        return None
    try:
        moved = dt.date(*(int(part) for part in match.groups())) + dt.timedelta(days=days)
    except (ValueError, OverflowError):
        return None
    return moved.strftime("%Y%m%d")


def shift_dicom(value: str, days: int) -> str | None:
    """A DA value, a DA range (A-B, A-, -B) or a DT value moved by `days`; None when unreadable."""
    text = value.strip()
    if _RANGE.fullmatch(text) and text != "-":
        low, _, high = text.partition("-")
        parts = [shift_date(part, days) if part else "" for part in (low, high)]
        return None if None in parts else f"{parts[0]}-{parts[1]}"
    if len(text) > 8 and _DT.fullmatch(text):  # DT: the date part moves, the rest stays
        head = shift_date(text[:8], days)
        return None if head is None else head + text[8:]
    return shift_date(text, days)
