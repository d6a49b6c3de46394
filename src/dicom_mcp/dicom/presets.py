"""Attribute presets: which return keys a query asks for at each level of detail."""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType
from typing import Final


class Level(StrEnum):
    """A C-FIND query/retrieve level, named as the tools name it."""

    PATIENT = "patient"
    STUDY = "study"
    SERIES = "series"
    INSTANCE = "instance"


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
