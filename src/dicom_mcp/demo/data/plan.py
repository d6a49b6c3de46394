"""The sample data set's script: who the patients are, which studies they had, what each series holds.

Every name is visibly synthetic (`DEMO^…`) and every instance says Patient Identity Removed
YES. UIDs are fixed strings under pydicom's registered root, so each start serves the same
instances under the same UIDs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from pydicom.uid import ExplicitVRLittleEndian, JPEGLSLossless, RLELossless

UID_ROOT: Final = "1.2.826.0.1.3680043.8.498.10731."
INSTITUTION: Final = "Sample Hospital (synthetic data)"
RADIOLOGIST: Final = "DEMO^RADIOLOGIST"

# What a series holds: a phantom of a kind (phantoms.py), or a report (reports.py).
CT_CHEST, CT_HEAD, MR_T1, MR_T2, CR_PA, CR_LAT, US_STILL, US_CINE = (
    "ct-chest",
    "ct-head",
    "mr-t1",
    "mr-t2",
    "cr-pa",
    "cr-lat",
    "us-still",
    "us-cine",
)
SR_REPORT, PDF_REPORT = "sr", "pdf"


@dataclass(frozen=True)
class PatientSpec:
    patient_id: str
    name: str
    birth_date: str
    sex: str
    charset: str | None = None  # Specific Character Set of the patient's instances


@dataclass(frozen=True)
class SeriesSpec:
    modality: str
    description: str
    content: str
    count: int = 1
    body_part: str = ""
    syntax: str = ExplicitVRLittleEndian
    frames: int = 1


@dataclass(frozen=True)
class StudySpec:
    patient_id: str
    date: str
    time: str
    description: str
    accession_number: str
    series: tuple[SeriesSpec, ...]
    nodule_mm: float = 0.0  # a lung nodule's diameter, for chest CTs


PATIENTS: Final = (
    PatientSpec("DEMO-001", "DEMO^ALICE", "19580412", "F"),
    PatientSpec("DEMO-002", "DEMO^BRUNO", "19730907", "M"),
    PatientSpec("DEMO-003", "DEMO^Zoë", "19910130", "F", "ISO_IR 192"),
    PatientSpec("DEMO-004", "DEMO^CARLOS", "19850622", "M"),
    PatientSpec("DEMO-005", "DEMO^DIANA", "20020318", "F"),
)

PRIOR_CHEST_DATE: Final = "20190311"
PRIOR_NODULE_MM: Final = 6.0
NODULE_MM: Final = 9.0

STUDIES: Final = (
    StudySpec(
        "DEMO-001",
        PRIOR_CHEST_DATE,
        "102000",
        "CT CHEST",
        "DEMO1001",
        (SeriesSpec("CT", "AXIAL 5MM", CT_CHEST, 12, "CHEST", RLELossless),),
        PRIOR_NODULE_MM,
    ),
    StudySpec(
        "DEMO-001",
        "20240520",
        "091500",
        "CT CHEST FOLLOW-UP",
        "DEMO1002",
        (
            SeriesSpec("CT", "AXIAL 5MM", CT_CHEST, 12, "CHEST", RLELossless),
            SeriesSpec("SR", "RADIOLOGY REPORT", SR_REPORT),
            SeriesSpec("DOC", "SIGNED REPORT (PDF)", PDF_REPORT),
        ),
        NODULE_MM,
    ),
    StudySpec(
        "DEMO-002",
        "20231102",
        "140000",
        "MR BRAIN",
        "DEMO2001",
        (
            SeriesSpec("MR", "T1 AXIAL", MR_T1, 10, "HEAD", JPEGLSLossless),
            SeriesSpec("MR", "T2 AXIAL", MR_T2, 10, "HEAD", JPEGLSLossless),
        ),
    ),
    StudySpec(
        "DEMO-003",
        "20240115",
        "083000",
        "CHEST XRAY",
        "DEMO3001",
        (SeriesSpec("CR", "PA", CR_PA, 1, "CHEST"), SeriesSpec("CR", "LATERAL", CR_LAT, 1, "CHEST")),
    ),
    StudySpec(
        "DEMO-004",
        "20220809",
        "111000",
        "US ABDOMEN",
        "DEMO4001",
        (
            SeriesSpec("US", "LIVER CINE", US_CINE, 1, "ABDOMEN", RLELossless, frames=16),
            SeriesSpec("US", "LIVER", US_STILL, 3, "ABDOMEN"),
        ),
    ),
    StudySpec(
        "DEMO-005",
        "20210630",
        "223000",
        "CT HEAD",
        "DEMO5001",
        (SeriesSpec("CT", "AXIAL 5MM", CT_HEAD, 8, "HEAD"),),
    ),
    StudySpec(
        "DEMO-005",
        "20250214",
        "160000",
        "MR BRAIN",
        "DEMO5002",
        (SeriesSpec("MR", "T2 AXIAL", MR_T2, 10, "HEAD", JPEGLSLossless),),
    ),
)


def study_uid(study_no: int) -> str:
    return f"{UID_ROOT}1.{study_no}"


def series_uid(study_no: int, series_no: int) -> str:
    return f"{UID_ROOT}2.{study_no}.{series_no}"


def instance_uid(study_no: int, series_no: int, number: int) -> str:
    return f"{UID_ROOT}3.{study_no}.{series_no}.{number}"


def patient(patient_id: str) -> PatientSpec:
    return next(p for p in PATIENTS if p.patient_id == patient_id)
