"""C-FIND queries: from validated tool arguments to an identifier and an information model."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from pydicom.dataset import Dataset
from pydicom.uid import UID

from dicom_mcp.dicom import wire
from dicom_mcp.dicom.errors import IdentifierNotEncodable, InvalidQuery
from dicom_mcp.dicom.levels import Level
from dicom_mcp.dicom.presets import PRESET_NAMES, check_level, preset_attributes
from dicom_mcp.dicom.validation import (
    check_code,
    check_date,
    check_integer,
    check_keyword,
    check_return_key,
    check_text,
    check_uid,
    vr_of,
    writable,
    written,
)

PATIENT_ROOT_FIND: Final = "1.2.840.10008.5.1.4.1.2.1.1"
STUDY_ROOT_FIND: Final = "1.2.840.10008.5.1.4.1.2.2.1"

# The wire name of each level, and the unique keys a hierarchical query must carry.
_WIRE_LEVEL: Final = {
    Level.PATIENT: "PATIENT",
    Level.STUDY: "STUDY",
    Level.SERIES: "SERIES",
    Level.INSTANCE: "IMAGE",
}
UNIQUE_KEYS: Final = {
    Level.PATIENT: ("PatientID",),
    Level.STUDY: ("StudyInstanceUID",),
    Level.SERIES: ("StudyInstanceUID", "SeriesInstanceUID"),
    Level.INSTANCE: ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"),
}
MAX_EXTRA_ATTRIBUTES: Final = 64


@dataclass(frozen=True)
class Query:
    """One validated C-FIND: what to match and which attributes to return."""

    level: Level
    matching: tuple[tuple[str, str], ...]
    return_keys: tuple[str, ...]

    @property
    def model(self) -> str:
        """Patient Root for patients, Study Root for everything below."""
        return PATIENT_ROOT_FIND if self.level is Level.PATIENT else STUDY_ROOT_FIND

    def value_of(self, keyword: str) -> str | None:
        """The matching value given for `keyword`, if any."""
        return dict(self.matching).get(keyword)

    def with_matching(self, keyword: str, value: str) -> Query:
        """A copy that also matches `keyword` (used to fill in parent UIDs)."""
        kept = tuple(item for item in self.matching if item[0] != keyword)
        return Query(self.level, (*kept, (keyword, value)), self.return_keys)

    def elements(self) -> list[tuple[str, str | None]]:
        """The identifier's (keyword, value) pairs in the order they are set; a later one wins."""
        pairs: list[tuple[str, str | None]] = [("QueryRetrieveLevel", _WIRE_LEVEL[self.level])]
        for keyword in (*UNIQUE_KEYS[self.level], *self.return_keys):
            if keyword != "QueryRetrieveLevel":  # set above; asked for as a column, it must stay set
                pairs.append((keyword, None))
        pairs.extend(dict(self.matching).items())
        return pairs

    def identifier(self) -> Dataset:
        """The C-FIND request identifier: return keys empty, matching keys set, charset declared."""
        ds = Dataset()
        for keyword, value in self.elements():
            setattr(ds, keyword, value)
        charset = _charset_for(dict(self.matching).values())
        if charset:
            ds.SpecificCharacterSet = charset
        return ds

    def encode(self, syntax: UID) -> bytes:
        """The identifier, encoded in the negotiated transfer syntax.

        Raises:
            IdentifierNotEncodable: pydicom could not write it (validation should have refused
                the attribute); raised before anything is sent.
        """
        encoding = {"implicit_vr": syntax.is_implicit_VR, "little_endian": syntax.is_little_endian}
        encoded = wire.encoded(self.elements(), **encoding)
        if encoded is None:
            encoded = self._written(encoding)
        if not syntax.is_deflated:
            return encoded
        compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -zlib.MAX_WBITS)
        deflated = compressor.compress(encoded) + compressor.flush()
        return deflated + b"\x00" * (len(deflated) % 2)

    def _written(self, encoding: dict[str, bool]) -> bytes:
        """The identifier written by pydicom (for what `wire.encoded` leaves to it)."""
        identifier = self.identifier()
        try:
            return written(identifier, **encoding)
        except Exception as exc:  # pydicom raises ValueError, TypeError, ...; its text may quote values
            culprit = next((e.keyword for e in identifier if not writable(e.keyword, **encoding)), None)
            what = f"attribute {culprit}" if culprit else f"pydicom ({type(exc).__name__})"
            raise IdentifierNotEncodable(
                f"the query could not be encoded as a DICOM identifier ({what} cannot be written in "
                f"the transfer syntax the PACS accepted); nothing was sent to the PACS"
            ) from None


def _charset_for(values: Iterable[str]) -> str | None:
    """The Specific Character Set needed to send `values`: none for ASCII, Latin-1 if it fits, else UTF-8."""
    text = "".join(values)
    if text.isascii():
        return None
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return "ISO_IR 192"
    return "ISO_IR 100"


def build_query(
    level: Level,
    matching: Mapping[str, tuple[str, str | None]],
    preset: str | None,
    additional: Iterable[str] | None,
    exclude: Iterable[str] | None,
) -> Query:
    """Validate a tool's arguments into a Query.

    Args:
        matching: keyword -> (parameter name, value); None or empty values are ignored.
        preset: one of minimal/standard/extended; None means standard.
    """
    checked = tuple(
        (keyword, check_matching_value(param, keyword, value))
        for keyword, (param, value) in matching.items()
        if value not in (None, "")
    )
    return Query(level, checked, return_keys(level, preset, additional, exclude))


def check_matching_value(param: str, keyword: str, value: str | None) -> str:
    """Validate one matching value by its attribute's VR."""
    if not isinstance(value, str):
        raise InvalidQuery(f"{param} must be a string")
    vr = vr_of(keyword)
    if vr == "UI":
        return check_uid(param, value)
    if vr == "DA":
        return check_date(param, value)
    if vr == "CS":
        return check_code(param, value)
    if vr == "IS":
        return check_integer(param, value)
    return check_text(param, value, vr)


def return_keys(
    level: Level, preset: str | None, additional: Iterable[str] | None, exclude: Iterable[str] | None
) -> tuple[str, ...]:
    """The preset's attributes plus `additional`, minus `exclude`, in a stable order."""
    chosen = preset or "standard"
    base = preset_attributes(level, chosen)
    if base is None:
        valid = ", ".join(PRESET_NAMES)
        raise InvalidQuery(f"unknown attribute_preset {chosen[:32]!r}: use one of {valid}")
    extra = [
        check_level("additional_attributes", keyword, level)
        for keyword in _keywords("additional_attributes", additional, check_return_key)
    ]
    dropped = set(_keywords("exclude_attributes", exclude, check_keyword))
    ordered = dict.fromkeys((*base, *extra))
    return tuple(keyword for keyword in ordered if keyword not in dropped)


def _keywords(param: str, keywords: Iterable[str] | None, check: Callable[[str, str], str]) -> list[str]:
    items = list(keywords or ())
    if len(items) > MAX_EXTRA_ATTRIBUTES:
        raise InvalidQuery(f"{param} accepts at most {MAX_EXTRA_ATTRIBUTES} keywords")
    return [check(param, keyword) for keyword in items]
