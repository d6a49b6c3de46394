"""A C-FIND `Query` as a QIDO-RS search (PS3.18 10.6): resource path, matching parameters, includefield.

Levels map onto QIDO-RS resources: studies, series and instances, scoped by the parent UIDs the
query names (`studies/{uid}/series`). QIDO-RS has no patient resource, so a patient query searches
studies and keeps one match per Patient ID; the patient-level counts are then counted from the
patient's studies. Matching values keep DICOM's syntax (wildcards, date ranges) and travel
percent-encoded UTF-8, except the characters `matching.UNESCAPED` names.

Text matching keys are checked again here, by DICOM's rules, on what the archive returns: an
archive may match more loosely than C-FIND does (Orthanc's DICOMweb plugin ignores case for every
attribute, its C-FIND only for person names), and the tools must give the same answers on both.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote

from dicom_mcp.dicomweb.dicomjson import json_tag
from dicom_mcp.dicomweb.matching import SENT_AS_IS, LocalMatch, sendable_prefix
from dicom_mcp.model.levels import WIRE_LEVEL, Level
from dicom_mcp.model.queries import Query
from dicom_mcp.model.validation import vr_of
from dicom_mcp.model.values import JsonValue

PATIENT_COUNTS: Final = (
    "NumberOfPatientRelatedStudies",
    "NumberOfPatientRelatedSeries",
    "NumberOfPatientRelatedInstances",
)
# What C-FIND answers with that no QIDO-RS result carries.
_SYNTHETIC: Final = frozenset({"QueryRetrieveLevel", *PATIENT_COUNTS})
# Value representations whose matching values are checked here (the others: dates, times, numbers, UIDs).
_TEXT_VRS: Final = frozenset({"PN", "LO", "SH", "LT", "ST", "UT", "UC", "CS", "AE"})


@dataclass(frozen=True)
class Search:
    """One QIDO-RS search and what to do with its results."""

    level: Level
    path: tuple[str, ...]  # resource path segments below the root
    params: tuple[tuple[str, str], ...]  # matching keys and includefield (never limit/offset)
    shaped: tuple[str, ...]  # keywords read from each result: the return keys and what filtering needs
    return_keys: tuple[str, ...]
    local: tuple[LocalMatch, ...] = ()  # text matching keys, checked again here
    distinct: str | None = None  # the keyword that identifies a match (patients, over studies)

    @property
    def scoped(self) -> bool:
        """True when the path names a study or series, which the archive may not hold (404)."""
        return len(self.path) > 1

    @property
    def filtered(self) -> bool:
        """True when results may be thinned out here, so pages are read until enough remain."""
        return bool(self.local) or self.distinct is not None

    def keeps(self, match: dict[str, JsonValue]) -> bool:
        return all(rule.matches(match.get(rule.keyword)) for rule in self.local)

    def project(self, match: dict[str, JsonValue]) -> dict[str, JsonValue]:
        """The match as C-FIND would return it: the return keys, in order."""
        out = {keyword: match.get(keyword) for keyword in self.return_keys}
        if "QueryRetrieveLevel" in out:
            out["QueryRetrieveLevel"] = WIRE_LEVEL[self.level]
        return out

    def query_string(self, *extra: tuple[str, str]) -> str:
        return query_string((*self.params, *extra))


def plan(query: Query, *, local_matching: bool) -> Search:
    """The QIDO-RS search that answers `query`."""
    matching = dict(query.matching)
    path = _path(query.level, matching)  # takes the UIDs it scopes by out of `matching`
    params: list[tuple[str, str]] = []
    local: list[LocalMatch] = []
    for keyword, value in matching.items():
        vr = vr_of(keyword)
        if vr not in _TEXT_VRS:
            params.append((keyword, value))
            continue
        local.append(LocalMatch(keyword, value, ignore_case=vr == "PN"))
        sent = sendable_prefix(value) if local_matching else value
        if sent is not None:
            params.append((keyword, sent))
    distinct = "PatientID" if query.level is Level.PATIENT else None
    shaped = _unique(
        (*query.return_keys, *(rule.keyword for rule in local), *([distinct] if distinct else []))
    )
    fields = [json_tag(keyword) for keyword in shaped if keyword not in _SYNTHETIC]
    if fields:
        params.append(("includefield", ",".join(fields)))
    return Search(query.level, path, tuple(params), shaped, query.return_keys, tuple(local), distinct)


def _path(level: Level, matching: dict[str, str]) -> tuple[str, ...]:
    if level in (Level.PATIENT, Level.STUDY):
        return ("studies",)
    study = matching.pop("StudyInstanceUID", None)
    if level is Level.SERIES:
        return ("studies", study, "series") if study else ("series",)
    series = matching.pop("SeriesInstanceUID", None) if study else None
    if study and series:
        return ("studies", study, "series", series, "instances")
    return ("studies", study, "instances") if study else ("instances",)


def url_path(segments: Sequence[str]) -> str:
    """Path segments (UIDs among them) as a relative URL path."""
    return "/".join(quote(segment, safe="") for segment in segments)


def query_string(params: Iterable[tuple[str, str]]) -> str:
    """Percent-encoded UTF-8, leaving unreserved characters, the wildcards and includefield's commas."""
    return "&".join(
        f"{quote(key, safe='')}={quote(value, safe=SENT_AS_IS + (',' if key == 'includefield' else ''))}"
        for key, value in params
    )


def _unique(keywords: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(keywords))
