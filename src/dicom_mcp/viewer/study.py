"""A study's series, and a series' instances in display order, found by C-FIND.

The viewer lists every series of a study (image series as thumbnails, reports as a list) and
steps through a series' instances by position, so both look-ups are bounded and sorted here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal, Protocol

from dicom_mcp.errors import NothingFound
from dicom_mcp.model.levels import Level
from dicom_mcp.model.queries import Query
from dicom_mcp.model.sopclasses import REPORT_CLASSES
from dicom_mcp.model.target import Target
from dicom_mcp.pacs.backend import FindResult

Kind = Literal["image", "report", "other"]

MAX_SERIES: Final = 100  # series of one study listed
MAX_INSTANCES: Final = 5000  # instances of one series the viewer can step through
# Series of these modalities hold reports (read with read_report) or no pixels at all.
REPORT_MODALITIES: Final = frozenset({"SR", "KO", "DOC"})
OTHER_MODALITIES: Final = frozenset(
    {"PR", "RTSTRUCT", "RTPLAN", "RTRECORD", "REG", "FID", "AU", "ECG", "HD", "PLAN"}
)


class Finder(Protocol):
    """What these look-ups need of a DICOM client: C-FIND (or QIDO-RS), whichever protocol answers."""

    async def find(self, target: Target, query: Query, limit: int) -> FindResult: ...


@dataclass(frozen=True)
class SeriesEntry:
    """One series of a study, as the viewer shows it."""

    uid: str
    number: int | None
    modality: str | None
    description: str | None
    instances: int | None
    kind: Kind
    frames: int | None = None  # of its one instance, when the PACS says


@dataclass(frozen=True)
class InstanceEntry:
    """One instance of a series, in display order."""

    uid: str
    number: int | None
    sop_class: str | None
    frames: int | None = None  # Number of Frames, when the PACS says


@dataclass(frozen=True)
class Instances:
    entries: list[InstanceEntry]
    truncated: bool


def _text(match: Mapping[str, object], keyword: str) -> str | None:
    value = match.get(keyword)
    return value if isinstance(value, str) and value else None


def _number(match: Mapping[str, object], keyword: str) -> int | None:
    value = match.get(keyword)
    return value if isinstance(value, int) else None


async def series_of(client: Finder, target: Target, study_uid: str) -> tuple[list[SeriesEntry], bool]:
    """The study's series by series number (at most MAX_SERIES), and whether there were more.

    A PACS that does not count a series' instances (dcmqrscp) is asked for them; so is an "OT"
    series, which may hold secondary captures or encapsulated documents, and an image series of
    one instance, which may be a multi-frame one (its Number of Frames, where the PACS keeps it).

    Raises:
        NothingFound: the PACS has no such study.
    """
    keys = (
        "SeriesInstanceUID",
        "SeriesNumber",
        "Modality",
        "SeriesDescription",
        "NumberOfSeriesRelatedInstances",
    )
    query = Query(Level.SERIES, (("StudyInstanceUID", study_uid),), keys)
    found = await client.find(target, query, MAX_SERIES + 1)
    if not found.matches:
        raise NothingFound(f"{target.describe()} has no study with that Study Instance UID, or it is empty")
    entries = []
    for match in found.matches[:MAX_SERIES]:
        uid = _text(match, "SeriesInstanceUID")
        if uid is None:
            continue
        modality = (_text(match, "Modality") or "").upper() or None
        count = _number(match, "NumberOfSeriesRelatedInstances")
        kind = _kind_of_modality(modality)
        frames = None
        if count is None or modality == "OT" or (count == 1 and kind == "image"):
            listed = await instances_of(client, target, study_uid, uid)
            count = len(listed.entries)
            classes = {i.sop_class for i in listed.entries}
            if classes and classes <= REPORT_CLASSES:
                kind = "report"
            frames = listed.entries[0].frames if count == 1 else None
        description = _text(match, "SeriesDescription")
        number = _number(match, "SeriesNumber")
        entries.append(SeriesEntry(uid, number, modality, description, count, kind, frames))
    entries.sort(key=lambda s: (s.number is None, s.number or 0, s.uid))
    return entries, len(found.matches) > MAX_SERIES or found.truncated


def _kind_of_modality(modality: str | None) -> Kind:
    if modality in REPORT_MODALITIES:
        return "report"
    return "other" if modality in OTHER_MODALITIES else "image"


async def instances_of(client: Finder, target: Target, study_uid: str, series_uid: str) -> Instances:
    """The series' instances by instance number (then UID), at most MAX_INSTANCES.

    Raises:
        NothingFound: the PACS has no instance in that series.
    """
    matching = (("StudyInstanceUID", study_uid), ("SeriesInstanceUID", series_uid))
    keys = ("SOPInstanceUID", "InstanceNumber", "SOPClassUID", "NumberOfFrames")
    found = await client.find(target, Query(Level.INSTANCE, matching, keys), MAX_INSTANCES)
    entries = [
        InstanceEntry(
            uid,
            _number(match, "InstanceNumber"),
            _text(match, "SOPClassUID"),
            _number(match, "NumberOfFrames"),
        )
        for match in found.matches
        if (uid := _text(match, "SOPInstanceUID")) is not None
    ]
    if not entries:
        raise NothingFound(f"{target.describe()} has no instance in that series of that study")
    entries.sort(key=lambda i: (i.number is None, i.number or 0, i.uid))
    return Instances(entries, found.truncated)


async def modality_of(client: Finder, target: Target, study_uid: str, series_uid: str) -> str | None:
    """The series' modality (to guess the storage classes of instances whose class the PACS won't say)."""
    matching = (("StudyInstanceUID", study_uid), ("SeriesInstanceUID", series_uid))
    found = await client.find(target, Query(Level.SERIES, matching, ("Modality",)), 1)
    return _text(found.matches[0], "Modality") if found.matches else None
