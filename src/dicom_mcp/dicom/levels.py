"""Which query level an attribute lives at, so a query does not ask for another level's columns.

PS3.4 C.6 places each key at one level of the Patient/Study/Series/Instance hierarchy. A
C-FIND at the patient level cannot return a study's date: the PACS answers with empty values,
which a model would read as "unknown". The table names the attributes this service's presets
and tools use, plus the common ones of each level; attributes it does not name are allowed at
every level but the patient's, whose attribute set is small and closed.
"""

from __future__ import annotations

from typing import Final

from dicom_mcp.dicom.errors import InvalidQuery
from dicom_mcp.dicom.presets import PRESETS, Level

_ORDER: Final = (Level.PATIENT, Level.STUDY, Level.SERIES, Level.INSTANCE)

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
    for level in reversed(_ORDER):
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
    below = home is not None and _ORDER.index(home) > _ORDER.index(level)
    if below or (level is Level.PATIENT and home is not Level.PATIENT):
        where = f"the {home.value} level" if home is not None else "a level below patient"
        raise InvalidQuery(
            f"{param}: {keyword!r} is an attribute of {where}, so a {level.value}-level query cannot "
            f"return it; use {_TOOL[home or Level.STUDY]} for it"
        )
    return keyword


_TOOL: Final = {
    Level.PATIENT: "query_patients",
    Level.STUDY: "query_studies",
    Level.SERIES: "query_series",
    Level.INSTANCE: "query_instances",
}
