"""Where an instance, a series or a study's reports are: the parent UIDs a strict PACS needs.

A C-GET or C-MOVE names the whole hierarchy down to its level, and a hierarchical C-FIND an
IMAGE-level query's study; callers often know only the lowest UID. These C-FINDs fill in the
rest (and the SOP class, which a C-GET must propose).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dicom_mcp.errors import NothingFound, QueryFailed
from dicom_mcp.model.instances import Instance
from dicom_mcp.model.levels import Level
from dicom_mcp.model.queries import Query
from dicom_mcp.model.retrievals import Keys
from dicom_mcp.model.sopclasses import COMMON_STORAGE, REPORT_CLASSES, REPORT_MODALITIES, likely
from dicom_mcp.model.target import Target
from dicom_mcp.pacs.backend import Backend, FindResult
from dicom_mcp.pacs.budget import Budget

# At most this many report series, and instances per series, are looked at for one study.
MAX_REPORT_SERIES = 50
MAX_REPORTS_PER_SERIES = 100


@dataclass(frozen=True)
class Located:
    """An instance's place in the hierarchy, and the storage classes to propose for it."""

    keys: Keys
    sop_classes: tuple[str, ...]
    sop_class: str | None = None

    async def fetch(
        self,
        client: Backend,
        target: Target,
        budget: Budget,
        header_only: bool = False,
        frames: tuple[int, ...] | None = None,
    ) -> list[Instance]:
        """C-GET the instances into memory (with `header_only`, an instance too large for `budget`
        without its pixel data; with `frames`, with only those frames: `Backend.get`). When the PACS would not say the SOP class and the
        modality's guess brings nothing, ask again offering every common class, uncompressed."""
        try:
            got = await client.get(target, self.keys, self.sop_classes, budget, header_only, frames)
        except QueryFailed:
            if self.sop_class is not None:
                raise
            got = []  # the guessed classes were refused: the wider offer below decides
        if got or self.sop_class is not None:
            return got
        classes = (*self.sop_classes, *COMMON_STORAGE)
        return await client.get(target, self.keys, classes, budget, header_only, frames)


def _text(match: Mapping[str, object], keyword: str) -> str | None:
    value = match.get(keyword)
    return value if isinstance(value, str) and value else None


async def parent_study(client: Backend, target: Target, series_uid: str) -> str | None:
    """The study a series belongs to, by a SERIES-level C-FIND; None when the PACS has no such series."""
    lookup = Query(Level.SERIES, (("SeriesInstanceUID", series_uid),), ("StudyInstanceUID",))
    found = await client.find(target, lookup, 1)
    return _text(found.matches[0], "StudyInstanceUID") if found.matches else None


async def study_of_series(client: Backend, target: Target, series_uid: str) -> str:
    """The study a series belongs to.

    Raises:
        NothingFound: the PACS has no such series.
    """
    study = await parent_study(client, target, series_uid)
    if study is None:
        raise NothingFound(f"{target.describe()} has no series with that Series Instance UID")
    return study


async def find(client: Backend, target: Target, query: Query, limit: int) -> FindResult:
    """Run `query`, first looking up the study of a series when an IMAGE query lacks it.

    A hierarchical SCP (DCMTK's dcmqrscp, for one) refuses an IMAGE-level query without the
    StudyInstanceUID, so it is found with a SERIES-level query on the series UID.
    """
    if query.level is Level.INSTANCE and not query.value_of("StudyInstanceUID"):
        series_uid = query.value_of("SeriesInstanceUID")
        if series_uid:
            study_uid = await parent_study(client, target, series_uid)
            if study_uid is None:
                return FindResult([], False)
            query = query.with_matching("StudyInstanceUID", study_uid)
    return await client.find(target, query, limit)


async def instance(
    client: Backend, target: Target, sop_uid: str, series_uid: str | None, study_uid: str | None
) -> Located:
    """Locate one instance from its SOP Instance UID (and whatever parent UIDs the caller knows).

    Raises:
        NothingFound: the PACS has no such instance.
    """
    if series_uid and not study_uid:
        study_uid = await study_of_series(client, target, series_uid)
    matching = [("SOPInstanceUID", sop_uid)]
    matching += [(k, v) for k, v in (("SeriesInstanceUID", series_uid), ("StudyInstanceUID", study_uid)) if v]
    query = Query(Level.INSTANCE, tuple(matching), ("SOPClassUID", "SeriesInstanceUID", "StudyInstanceUID"))
    found = await client.find(target, query, 1)
    match = found.matches[0] if found.matches else {}
    series, study = (
        _text(match, "SeriesInstanceUID") or series_uid,
        _text(match, "StudyInstanceUID") or study_uid,
    )
    if not match or series is None or study is None:
        raise NothingFound(f"{target.describe()} has no instance with that SOP Instance UID")
    sop_class = _text(match, "SOPClassUID")
    modality = None if sop_class else await _modality(client, target, study, series)
    return Located(Keys(study, series, sop_uid), likely(sop_class, modality), sop_class)


async def _modality(client: Backend, target: Target, study_uid: str, series_uid: str) -> str | None:
    query = Query(
        Level.SERIES, (("StudyInstanceUID", study_uid), ("SeriesInstanceUID", series_uid)), ("Modality",)
    )
    found = await client.find(target, query, 1)
    return _text(found.matches[0], "Modality") if found.matches else None


async def reports(client: Backend, target: Target, study_uid: str) -> list[Located]:
    """The study's reports (SR, Key Object Selection, encapsulated PDF and CDA), by C-FIND.

    Raises:
        NothingFound: the PACS has no such study.
    """
    series_query = Query(Level.SERIES, (("StudyInstanceUID", study_uid),), ("SeriesInstanceUID", "Modality"))
    series = await client.find(target, series_query, 1000)
    if not series.matches:
        raise NothingFound(f"{target.describe()} has no study with that Study Instance UID, or it is empty")
    found: list[Located] = []
    candidates = [m for m in series.matches if (_text(m, "Modality") or "").upper() in REPORT_MODALITIES]
    for match in candidates[:MAX_REPORT_SERIES]:
        series_uid, modality = _text(match, "SeriesInstanceUID"), _text(match, "Modality")
        if series_uid is None:
            continue
        keys = (("StudyInstanceUID", study_uid), ("SeriesInstanceUID", series_uid))
        instances = await client.find(
            target, Query(Level.INSTANCE, keys, ("SOPInstanceUID", "SOPClassUID")), MAX_REPORTS_PER_SERIES
        )
        for item in instances.matches:
            sop_uid, sop_class = _text(item, "SOPInstanceUID"), _text(item, "SOPClassUID")
            if sop_uid and (sop_class is None or sop_class in REPORT_CLASSES):
                found.append(
                    Located(Keys(study_uid, series_uid, sop_uid), likely(sop_class, modality), sop_class)
                )
    return found
