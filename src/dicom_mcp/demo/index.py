"""The sample PACS's in-memory index: patients, studies, series and instances over pydicom Datasets.

Each entity keeps one instance below it as its `sample`, which holds the entity's own
attributes (all instances of a series share its series, study and patient attributes). An
attribute is read from the entity of the level it belongs to (PS3.4 C.6), so a study-level
query sees the study's description and its patient's name but no series' modality, as in
Orthanc. The counts, ModalitiesInStudy and SOPClassesInStudy are computed once, at load.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Final

from pydicom.datadict import tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.tag import BaseTag, Tag

LEVELS: Final = ("PATIENT", "STUDY", "SERIES", "IMAGE")
UNIQUE_KEY: Final = {
    "PATIENT": "PatientID",
    "STUDY": "StudyInstanceUID",
    "SERIES": "SeriesInstanceUID",
    "IMAGE": "SOPInstanceUID",
}

_PATIENT: Final = (
    "PatientName PatientID IssuerOfPatientID OtherPatientIDs OtherPatientIDsSequence OtherPatientNames "
    "PatientBirthDate PatientBirthTime PatientSex EthnicGroup PatientComments PatientIdentityRemoved "
    "DeidentificationMethod NumberOfPatientRelatedStudies NumberOfPatientRelatedSeries "
    "NumberOfPatientRelatedInstances"
)
_STUDY: Final = (
    "StudyDate StudyTime AccessionNumber StudyID StudyInstanceUID ReferringPhysicianName StudyDescription "
    "ProcedureCodeSequence NameOfPhysiciansReadingStudy AdmittingDiagnosesDescription PatientAge "
    "PatientSize PatientWeight Occupation AdditionalPatientHistory OtherStudyNumbers ModalitiesInStudy "
    "SOPClassesInStudy NumberOfStudyRelatedSeries NumberOfStudyRelatedInstances InstitutionName "
    "IssuerOfAccessionNumberSequence RequestedProcedureDescription"
)
_SERIES: Final = (
    "Modality SeriesNumber SeriesInstanceUID SeriesDescription SeriesDate SeriesTime BodyPartExamined "
    "Laterality ProtocolName PerformedProcedureStepStartDate PerformedProcedureStepStartTime "
    "PerformedProcedureStepID PerformedProcedureStepDescription RequestAttributesSequence OperatorsName "
    "PerformingPhysicianName Manufacturer ManufacturerModelName StationName NumberOfSeriesRelatedInstances"
)


def _levels() -> dict[BaseTag, str]:
    table = {}
    for level, names in (("PATIENT", _PATIENT), ("STUDY", _STUDY), ("SERIES", _SERIES)):
        for keyword in names.split():
            tag = tag_for_keyword(keyword)
            if tag is None:  # pragma: no cover - a typo above
                raise ValueError(keyword)
            table[Tag(tag)] = level
    return table


LEVEL_OF: Final = _levels()


def level_of(tag: BaseTag) -> str:
    """The level an attribute belongs to; anything not named above is an instance's."""
    return LEVEL_OF.get(tag, "IMAGE")


@dataclass(eq=False)
class Entity:
    """A patient, study, series or instance; `sample` is an instance below it (itself for instances)."""

    level: str
    uid: str
    sample: Dataset
    parent: Entity | None = None
    children: list[Entity] = field(default_factory=list)
    computed: dict[BaseTag, DataElement] = field(default_factory=dict)

    def element(self, tag: BaseTag) -> DataElement | None:
        """The attribute as this entity answers it: from the entity of its level, None if below."""
        home = level_of(tag)
        entity: Entity | None = self
        while entity is not None and entity.level != home:
            entity = entity.parent
        if entity is None:
            return None
        if tag in entity.computed:
            return entity.computed[tag]
        return entity.sample.get(tag)

    def instances(self) -> Iterator[Entity]:
        """The instances at or below this entity, in order."""
        if self.level == "IMAGE":
            yield self
            return
        for child in self.children:
            yield from child.instances()


class Index:
    """Every loaded instance, grouped into the hierarchy, each level in a stable order.

    Patients come by PatientID, studies by date and time, series by number, instances by number.
    """

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        by_uid: dict[tuple[str, str], Entity] = {}
        for ds in datasets:
            _settle(ds)
            patient = _child(by_uid, None, "PATIENT", ds)
            study = _child(by_uid, patient, "STUDY", ds)
            series = _child(by_uid, study, "SERIES", ds)
            _child(by_uid, series, "IMAGE", ds, replace=True)
        self._levels: dict[str, list[Entity]] = {level: [] for level in LEVELS}
        patients = [entity for (level, _), entity in by_uid.items() if level == "PATIENT"]
        for patient in sorted(patients, key=lambda p: p.uid):
            self._add_sorted(patient)
        for entity in self._levels["PATIENT"] + self._levels["STUDY"] + self._levels["SERIES"]:
            _compute(entity)

    def entities(self, level: str) -> list[Entity]:
        """Every entity of a level (PATIENT, STUDY, SERIES or IMAGE)."""
        return self._levels[level]

    @property
    def instance_count(self) -> int:
        return len(self._levels["IMAGE"])

    def _add_sorted(self, entity: Entity) -> None:
        self._levels[entity.level].append(entity)
        entity.children.sort(key=_CHILD_ORDER[entity.level])
        for child in entity.children:
            self._add_sorted(child)


def _child(
    by_uid: dict[tuple[str, str], Entity],
    parent: Entity | None,
    level: str,
    ds: Dataset,
    replace: bool = False,
) -> Entity:
    """The entity of `level` that `ds` belongs to, made on first sight."""
    uid = str(ds.get(UNIQUE_KEY[level], "") or "")
    if not uid and level != "PATIENT":
        raise ValueError(f"an instance without {UNIQUE_KEY[level]} cannot be indexed")
    found = by_uid.get((level, uid))
    if found is not None and not replace:
        return found
    entity = Entity(level, uid, ds, parent)
    if found is not None and found.parent is not None:  # the same SOP Instance UID again: keep the last
        found.parent.children.remove(found)
    by_uid[(level, uid)] = entity
    if parent is not None:
        parent.children.append(entity)
    return entity


def _settle(ds: Dataset) -> None:
    """Convert every raw element once, now, so that threads answering at once only read."""
    for _ in ds:
        pass


def _number(entity: Entity, keyword: str) -> tuple[int, str]:
    value = entity.sample.get(keyword)
    try:
        return (int(value), entity.uid) if value not in (None, "") else (0, entity.uid)
    except (TypeError, ValueError):
        return (0, entity.uid)


def _study_order(entity: Entity) -> tuple[str, str, str]:
    return (str(entity.sample.get("StudyDate", "")), str(entity.sample.get("StudyTime", "")), entity.uid)


# How the children of an entity of each level are ordered: studies, series, then instances.
_CHILD_ORDER: Final = {
    "PATIENT": _study_order,
    "STUDY": lambda e: _number(e, "SeriesNumber"),
    "SERIES": lambda e: _number(e, "InstanceNumber"),
    "IMAGE": lambda e: e.uid,
}


def _compute(entity: Entity) -> None:
    """The attributes a PACS computes rather than stores (PS3.4 C.3.2, C.3.3, C.3.4)."""
    instances = list(entity.instances())
    values: dict[str, object] = {}
    if entity.level == "PATIENT":
        series = [s for study in entity.children for s in study.children]
        values = {
            "NumberOfPatientRelatedStudies": len(entity.children),
            "NumberOfPatientRelatedSeries": len(series),
            "NumberOfPatientRelatedInstances": len(instances),
        }
    elif entity.level == "STUDY":
        modalities = {str(s.sample.get("Modality", "")) for s in entity.children}
        classes = {str(i.sample.get("SOPClassUID", "")) for i in instances}
        values = {  # sorted, as Orthanc lists them
            "ModalitiesInStudy": sorted(m for m in modalities if m),
            "SOPClassesInStudy": sorted(c for c in classes if c),
            "NumberOfStudyRelatedSeries": len(entity.children),
            "NumberOfStudyRelatedInstances": len(instances),
        }
    elif entity.level == "SERIES":
        values = {"NumberOfSeriesRelatedInstances": len(instances)}
    holder = Dataset()
    for keyword, value in values.items():
        setattr(holder, keyword, value)
        entity.computed[Tag(keyword)] = holder[keyword]
