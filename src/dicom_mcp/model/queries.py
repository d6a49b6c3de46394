"""C-FIND queries: from validated tool arguments to an identifier and an information model."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from pydicom.dataset import Dataset

from dicom_mcp.errors import InvalidQuery
from dicom_mcp.model.levels import WIRE_LEVEL, Level
from dicom_mcp.model.presets import PRESET_NAMES, check_level, preset_attributes
from dicom_mcp.model.validation import (
    check_code,
    check_date,
    check_integer,
    check_keyword,
    check_return_key,
    check_text,
    check_uid,
    vr_of,
)

PATIENT_ROOT_FIND: Final = "1.2.840.10008.5.1.4.1.2.1.1"
STUDY_ROOT_FIND: Final = "1.2.840.10008.5.1.4.1.2.2.1"

# The wire name of each level, and the unique keys a hierarchical query must carry.
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
        pairs: list[tuple[str, str | None]] = [("QueryRetrieveLevel", WIRE_LEVEL[self.level])]
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
