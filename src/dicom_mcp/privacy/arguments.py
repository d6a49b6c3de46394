"""A pseudonymised caller's arguments, turned back into what the PACS knows.

Identifier and UID arguments take tokens only, each looked up in the reverse map under the
caller's principal: a token the map does not hold is refused, never passed on. Searching by
name or birth date is refused, and so is a wildcard in an identifier: either would let a caller
ask "is SMITH here?". A date is in the caller's (shifted) calendar: with a known patient it is
moved back by that patient's offset; without one, the range is widened by the largest offset
and the rows are filtered after they moved (`answers.DateFilter`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from dicom_mcp.errors import InvalidQuery
from dicom_mcp.privacy import annex_e, pseudonyms
from dicom_mcp.privacy.answers import DateFilter
from dicom_mcp.privacy.pseudonyms import MAX_OFFSET_DAYS, Pseudonymiser, is_token

Recall = Callable[
    [str, str], Awaitable[tuple[str, str | None] | None]
]  # (kind, token) -> (original, patient)

REFUSED: Final[Mapping[str, str]] = {
    "name_pattern": "names cannot be searched in the pseudonymised view: list patients without a filter, "
    "or pass a patient_id token an earlier answer gave",
    "birth_date": "birth dates cannot be searched in the pseudonymised view (answers give PatientAge instead)",
}
IDENTIFIERS: Final[Mapping[str, str]] = {
    "patient_id": pseudonyms.PATIENT_ID,
    "accession_number": pseudonyms.ACCESSION,
    "study_id": pseudonyms.STUDY_ID,
}
DATES: Final[Mapping[str, str]] = {"study_date": "StudyDate"}
# Asked of the PACS besides what the caller asked, where the level allows, so that every row
# teaches the boundary its patient's identity (to clean descriptions, to move dates); the
# caller sees them pseudonymised or not at all.
IDENTIFYING: Final = ("PatientID", "PatientName", "PatientBirthDate", "OtherPatientIDs")
ASKS_IDENTITY: Final = frozenset({"query_patients", "query_studies"})
_EXAMPLES: Final = {
    pseudonyms.UID: "2.25.<digits>",
    pseudonyms.PATIENT_ID: "P-<12 characters>",
    pseudonyms.ACCESSION: "A-<12 characters>",
    pseudonyms.STUDY_ID: "S-<12 characters>",
}


@dataclass
class Translated:
    """What the tool runs with, and what the answer's rewriting needs to know."""

    arguments: dict[str, Any]
    patient: str | None = None  # the original Patient ID the arguments are about
    originals: dict[str, str] = field(default_factory=dict)  # original -> the token the caller gave
    date_filter: DateFilter | None = None


def kind_of_argument(name: str) -> str | None:
    """The token kind an argument takes, or None for an argument that is not an identifier."""
    if name.endswith(("_uid", "_uids")):
        return pseudonyms.UID
    return IDENTIFIERS.get(name)


async def translate(
    tool: str,
    arguments: Mapping[str, Any],
    pseudonymiser: Pseudonymiser,
    recall: Recall,
    max_limit: int,
    default_limit: int,
) -> Translated:
    """The arguments with every token replaced by its original.

    Raises:
        InvalidQuery: a refused argument, a wildcard, something that is not a token, or a token
            this principal was never given (or that expired).
    """
    out = Translated(dict(arguments))
    for name, value in arguments.items():
        if value is None:
            continue
        if name in REFUSED:
            raise InvalidQuery(REFUSED[name])
        kind = kind_of_argument(name)
        if kind is None:
            continue
        if isinstance(value, list):
            out.arguments[name] = [await _original(name, kind, str(v), recall, out) for v in value]
        else:
            out.arguments[name] = await _original(name, kind, str(value), recall, out)
    asked = arguments.get("additional_attributes")
    _check_attributes(asked)
    excluded = arguments.get("exclude_attributes")
    if isinstance(excluded, list) and "PatientID" in excluded:  # rows need it for their dates
        out.arguments["exclude_attributes"] = [k for k in excluded if k not in IDENTIFYING] or None
    if tool in ASKS_IDENTITY:
        listed = list(asked) if isinstance(asked, list) else []
        out.arguments["additional_attributes"] = listed + [k for k in IDENTIFYING if k not in listed]
        if isinstance(excluded, list):
            out.arguments["exclude_attributes"] = [k for k in excluded if k not in IDENTIFYING] or None
    for name, keyword in DATES.items():
        if isinstance(arguments.get(name), str):
            _date(name, keyword, str(arguments[name]), pseudonymiser, out, max_limit, default_limit)
    return out


async def _original(name: str, kind: str, token: str, recall: Recall, out: Translated) -> str:
    if "*" in token or "?" in token:
        raise InvalidQuery(
            f"{name} cannot hold wildcards in the pseudonymised view; pass a token an earlier answer gave"
        )
    if not is_token(kind, token):
        raise InvalidQuery(
            f"{name} takes a token an earlier answer gave ({_EXAMPLES[kind]}) in the pseudonymised view; "
            f"{token[:64]!r} is not one"
        )
    found = await recall(kind, token)
    if found is None:
        raise InvalidQuery(
            f"{name} {token} is not a token this service gave you, or it expired; find it again with the "
            "query tools"
        )
    original, patient = found
    patient = original if kind == pseudonyms.PATIENT_ID else patient
    if patient is not None:
        if out.patient is not None and out.patient != patient:
            raise InvalidQuery("the tokens given belong to different patients")
        out.patient = patient
    out.originals[original] = token
    return original


def _check_attributes(asked: Any) -> None:
    if not isinstance(asked, list):
        return
    hidden = [str(k) for k in asked if not str(k)[:1].isupper() or annex_e.removed(str(k))]
    if hidden:
        raise InvalidQuery(
            f"additional_attributes: {', '.join(hidden)} {'is' if len(hidden) == 1 else 'are'} not available in the "
            "pseudonymised view (PS3.15 Annex E removes names, addresses, birth dates, comments and private "
            "elements; ages, codes, dates (shifted) and descriptions remain)"
        )


def _date(
    name: str,
    keyword: str,
    value: str,
    pseudonymiser: Pseudonymiser,
    out: Translated,
    max_limit: int,
    default_limit: int,
) -> None:
    if out.patient is not None:
        moved = pseudonyms.shift_dicom(value, -pseudonymiser.offset(out.patient))
        if moved is None:
            raise InvalidQuery(f"{name} must be YYYYMMDD or a range YYYYMMDD-YYYYMMDD")
        out.arguments[name] = moved
        return
    low, dash, high = value.strip().partition("-")
    low, high = (low, high) if dash else (low, low)
    wide = [
        pseudonyms.shift_date(part, step) if part else ""
        for part, step in ((low, -MAX_OFFSET_DAYS), (high, MAX_OFFSET_DAYS))
    ]
    if None in wide:
        raise InvalidQuery(f"{name} must be YYYYMMDD or a range YYYYMMDD-YYYYMMDD")
    out.arguments[name] = f"{wide[0]}-{wide[1]}"
    limit = out.arguments.get("limit") or default_limit
    out.arguments["limit"] = max_limit
    out.date_filter = DateFilter(keyword, low, high, int(limit))
