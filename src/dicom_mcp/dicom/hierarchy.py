"""Queries that strict PACS accept: fill in the parent UIDs a hierarchical C-FIND needs."""

from __future__ import annotations

from dicom_mcp.dicom.backend import Backend, FindResult
from dicom_mcp.dicom.levels import Level
from dicom_mcp.dicom.queries import Query
from dicom_mcp.dicom.target import Target


async def find(client: Backend, target: Target, query: Query, limit: int) -> FindResult:
    """Run `query`, first looking up the study of a series when an IMAGE query lacks it.

    A hierarchical SCP (DCMTK's dcmqrscp, for one) refuses an IMAGE-level query without the
    StudyInstanceUID, so it is found with a SERIES-level query on the series UID.
    """
    if query.level is Level.INSTANCE and not query.value_of("StudyInstanceUID"):
        series_uid = query.value_of("SeriesInstanceUID")
        if series_uid:
            lookup = Query(Level.SERIES, (("SeriesInstanceUID", series_uid),), ("StudyInstanceUID",))
            parents = await client.find(target, lookup, 1)
            study_uid = parents.matches[0].get("StudyInstanceUID") if parents.matches else None
            if not isinstance(study_uid, str):
                return FindResult([], False)
            query = query.with_matching("StudyInstanceUID", study_uid)
    return await client.find(target, query, limit)
