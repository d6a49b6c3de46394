"""C-FIND answers from QIDO-RS searches, with the DIMSE side's `limit` and `truncated`.

One more match than `limit` is asked for, so `truncated` means the archive holds more. Further
pages are read (with `offset`) while the archive says it left results out, and while results
thinned out here (text values checked by `matching.py`, one match per patient) leave too few.
Whether to match here (`local_matching`) is asked only of a search it changes: one that would
send a value percent-encoded.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final

from dicom_mcp.dicomweb import errors
from dicom_mcp.dicomweb.dicomjson import NotDicomJson, shape
from dicom_mcp.dicomweb.exchange import Exchange
from dicom_mcp.dicomweb.search import PATIENT_COUNTS, Search, plan, url_path
from dicom_mcp.errors import SearchTooBroad
from dicom_mcp.model.levels import Level
from dicom_mcp.model.queries import Query
from dicom_mcp.model.values import JsonValue
from dicom_mcp.pacs.backend import FindResult

PAGE: Final = 500  # results per request when they are thinned out here
MAX_SCANNED: Final = 20_000  # results read for one search before it is called too broad
Match = dict[str, JsonValue]
LocalMatching = Callable[[], Awaitable[bool]]
"""Whether values that would travel escaped are matched here; awaited only when a search has one."""


async def find(exchange: Exchange, query: Query, limit: int, *, local_matching: LocalMatching) -> FindResult:
    """At most `limit` matches of `query`, and whether there were more."""
    search = await planned(query, local_matching)
    found = await collect(exchange, search, limit + 1)
    kept = found[:limit]
    if query.level is Level.PATIENT and set(PATIENT_COUNTS) & set(query.return_keys):
        for match in kept:
            match.update(await _patient_counts(exchange, match.get("PatientID"), local_matching))
    return FindResult([search.project(match) for match in kept], len(found) > limit)


async def planned(query: Query, local_matching: LocalMatching) -> Search:
    """The search for `query`, asking `local_matching` only when its answer changes it."""
    as_is = plan(query, local_matching=False)
    matched_here = plan(query, local_matching=True)
    if matched_here == as_is:
        return as_is
    return matched_here if await local_matching() else as_is


async def collect(exchange: Exchange, search: Search, want: int) -> list[Match]:
    """Up to `want` matches, reading further pages when the archive or the filters here call for it.

    Raises:
        SearchTooBroad: MAX_SCANNED results were read without finding `want` matches.
    """
    kept: list[Match] = []
    seen: set[str] = set()
    size, path, offset = want, url_path(search.path), 0
    while True:
        paging = (("limit", str(size)), ("offset", str(offset))) if offset else (("limit", str(size)),)
        page = await exchange.search(path, search.query_string(*paging), scoped=search.scoped, rows=size)
        for row in page.rows:
            match = _shaped(exchange, row, search)
            if not search.keeps(match):
                continue
            if search.distinct is not None:
                identity = repr(match.get(search.distinct))
                if identity in seen:
                    continue
                seen.add(identity)
            kept.append(match)
            if len(kept) >= want:
                return kept
        offset += len(page.rows)
        if not page.rows or (len(page.rows) < size and not page.more):
            return kept
        if search.filtered:  # the archive's matches were thinned out here: read on in larger pages
            size = max(want, PAGE)
        if offset >= MAX_SCANNED:
            raise SearchTooBroad(
                f"{exchange.where} returned {MAX_SCANNED} candidates that matched too loosely, or repeated "
                "patients, without enough matches (on a node with local_matching, values with non-ASCII "
                "letters or spaces are matched here): add criteria, or more characters before them"
            )


def _shaped(exchange: Exchange, row: dict[str, object], search: Search) -> Match:
    try:
        return shape(row, search.shaped)
    except NotDicomJson as exc:
        raise errors.malformed(exchange.where, f"DICOM JSON ({exc})") from None


async def _patient_counts(exchange: Exchange, patient_id: JsonValue, local_matching: LocalMatching) -> Match:
    """The patient-level counts C-FIND computes, counted from the patient's studies."""
    if not isinstance(patient_id, str):
        return dict.fromkeys(PATIENT_COUNTS)
    wanted = ("PatientID", "NumberOfStudyRelatedSeries", "NumberOfStudyRelatedInstances")
    query = Query(Level.STUDY, (("PatientID", patient_id),), wanted)
    studies = [
        study
        for study in await collect(exchange, await planned(query, local_matching), MAX_SCANNED)
        if study.get("PatientID") == patient_id  # an ID with * or ? matched others too
    ]
    return {
        "NumberOfPatientRelatedStudies": len(studies),
        "NumberOfPatientRelatedSeries": sum(_count(s.get("NumberOfStudyRelatedSeries")) for s in studies),
        "NumberOfPatientRelatedInstances": sum(
            _count(s.get("NumberOfStudyRelatedInstances")) for s in studies
        ),
    }


def _count(value: JsonValue) -> int:
    return value if isinstance(value, int) else 0
