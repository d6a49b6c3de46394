"""Attributes by level: which return keys a query asks for at each level of detail, and which
level an attribute lives at, so a query does not ask for another level's columns.

PS3.4 C.6 places each key at one level of the Patient/Study/Series/Instance hierarchy. A
C-FIND at the patient level cannot return a study's date: the PACS answers with empty values,
which a model would read as "unknown". `LEVEL_OF` names the attributes the presets use, plus
common ones of each level; attributes it does not name are allowed at every level but the
patient's, whose attribute set is small and closed.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from dicom_mcp.errors import InvalidQuery
from dicom_mcp.model.levels import ORDER, TOOL, Level, below

DEFAULT_PRESET: Final = "standard"

_PATIENT_MINIMAL = ("PatientID", "PatientName")
_PATIENT_STANDARD = (*_PATIENT_MINIMAL, "PatientBirthDate", "PatientSex")
_PATIENT_EXTENDED = (
    *_PATIENT_STANDARD,
    "OtherPatientIDs",
    "NumberOfPatientRelatedStudies",
    "NumberOfPatientRelatedSeries",
    "NumberOfPatientRelatedInstances",
)

_STUDY_MINIMAL = ("StudyInstanceUID", "StudyDate", "StudyDescription", "PatientID")
_STUDY_STANDARD = (
    *_STUDY_MINIMAL,
    "PatientName",
    "StudyTime",
    "AccessionNumber",
    "ModalitiesInStudy",
    "StudyID",
)
_STUDY_EXTENDED = (
    *_STUDY_STANDARD,
    "PatientBirthDate",
    "PatientSex",
    "ReferringPhysicianName",
    "NumberOfStudyRelatedSeries",
    "NumberOfStudyRelatedInstances",
)

_SERIES_MINIMAL = ("SeriesInstanceUID", "Modality", "SeriesNumber")
_SERIES_STANDARD = (
    *_SERIES_MINIMAL,
    "SeriesDescription",
    "StudyInstanceUID",
    "SeriesDate",
    "BodyPartExamined",
)
_SERIES_EXTENDED = (
    *_SERIES_STANDARD,
    "SeriesTime",
    "ProtocolName",
    "NumberOfSeriesRelatedInstances",
)

_INSTANCE_MINIMAL = ("SOPInstanceUID", "InstanceNumber")
_INSTANCE_STANDARD = (*_INSTANCE_MINIMAL, "SOPClassUID", "SeriesInstanceUID", "ContentDate")
_INSTANCE_EXTENDED = (*_INSTANCE_STANDARD, "ContentTime", "Rows", "Columns", "ImageType", "AcquisitionNumber")

PRESETS: Final = MappingProxyType(
    {
        Level.PATIENT: {
            "minimal": _PATIENT_MINIMAL,
            "standard": _PATIENT_STANDARD,
            "extended": _PATIENT_EXTENDED,
        },
        Level.STUDY: {"minimal": _STUDY_MINIMAL, "standard": _STUDY_STANDARD, "extended": _STUDY_EXTENDED},
        Level.SERIES: {
            "minimal": _SERIES_MINIMAL,
            "standard": _SERIES_STANDARD,
            "extended": _SERIES_EXTENDED,
        },
        Level.INSTANCE: {
            "minimal": _INSTANCE_MINIMAL,
            "standard": _INSTANCE_STANDARD,
            "extended": _INSTANCE_EXTENDED,
        },
    }
)

PRESET_NAMES: Final = ("minimal", "standard", "extended")


def preset_attributes(level: Level, preset: str) -> tuple[str, ...] | None:
    """Return the keywords of `preset` at `level`, or None if there is no such preset."""
    return PRESETS[level].get(preset)


_EXTRA: Final = {
    Level.PATIENT: (
        "IssuerOfPatientID",
        "OtherPatientNames",
        "PatientBirthTime",
        "EthnicGroup",
        "PatientComments",
        "PatientIdentityRemoved",
        "SpecificCharacterSet",
        "QueryRetrieveLevel",
        "RetrieveAETitle",
        "InstanceAvailability",
    ),
    Level.STUDY: (
        "PatientAge",
        "PatientSize",
        "PatientWeight",
        "Occupation",
        "AdditionalPatientHistory",
        "AdmittingDiagnosesDescription",
        "NameOfPhysiciansReadingStudy",
        "SOPClassesInStudy",
        "ProcedureCodeSequence",
        "InstitutionName",
    ),
    Level.SERIES: (
        "Laterality",
        "OperatorsName",
        "PerformingPhysicianName",
        "PerformedProcedureStepStartDate",
        "PerformedProcedureStepStartTime",
        "PerformedProcedureStepDescription",
        "Manufacturer",
        "ManufacturerModelName",
        "StationName",
    ),
    Level.INSTANCE: (
        "NumberOfFrames",
        "BitsAllocated",
        "BitsStored",
        "PhotometricInterpretation",
        "SliceThickness",
        "SliceLocation",
        "ImagePositionPatient",
        "ImageOrientationPatient",
        "PixelSpacing",
        "WindowCenter",
        "WindowWidth",
        "AcquisitionDate",
        "AcquisitionTime",
        "TransferSyntaxUID",
        "CompletionFlag",
        "VerificationFlag",
        "DocumentTitle",
        "MIMETypeOfEncapsulatedDocument",
    ),
}


def _table() -> dict[str, Level]:
    """Each known keyword's level: the highest level whose presets or extras name it."""
    levels: dict[str, Level] = {}
    for level in reversed(ORDER):
        names = {key for preset in PRESETS[level].values() for key in preset} | set(_EXTRA[level])
        levels.update(dict.fromkeys(names, level))
    # A study's patient attributes are asked for in Study Root queries; they stay patient-level.
    for key in PRESETS[Level.PATIENT]["extended"]:
        levels[key] = Level.PATIENT
    for key in _EXTRA[Level.PATIENT]:
        levels[key] = Level.PATIENT
    return levels


LEVEL_OF: Final = _table()


def check_level(param: str, keyword: str, level: Level) -> str:
    """Refuse `keyword` if it belongs to a level below `level` (or, for patients, to any other level)."""
    home = LEVEL_OF.get(keyword)
    if (home is not None and below(home, level)) or (level is Level.PATIENT and home is not Level.PATIENT):
        where = f"the {home.value} level" if home is not None else "a level below patient"
        raise InvalidQuery(
            f"{param}: {keyword!r} is an attribute of {where}, so a {level.value}-level query cannot "
            f"return it; use {TOOL[home or Level.STUDY]} for it"
        )
    return keyword
