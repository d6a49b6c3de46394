"""The canary patient's two studies, built in memory.

The first: series 1 CT (three 64x64 slices, ORIGINAL, BurnedInAnnotation NO), 2 SR, 3 PDF,
4 US and 5 a secondary capture of modality CT (a screen save); the US and SC images are
ORIGINAL with BurnedInAnnotation NO too, so only their class and modality can refuse them.
The second, GAP_DAYS later: series 1 CT, two slices. Every instance carries the patient, the
study's identifiers, the people and places, a private element and a nested request sequence.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

import numpy as np
from pydicom.dataset import Dataset

from testbeds.canary.identity import (
    ADDRESS,
    BIRTH_DATE,
    DEVICE_SERIAL,
    FAMILY,
    GAP_DAYS,
    INSTITUTION,
    INSTITUTION_ADDRESS,
    ISSUER,
    OPERATOR,
    OTHER_PATIENT_ID,
    PATIENT_ID,
    PATIENT_NAME,
    PERFORMER,
    PRIVATE_CREATOR,
    REFERRER,
    REQUESTED_PROCEDURE_ID,
    ROOT,
    STATION,
    STUDY_DATE,
    TELEPHONE,
    shifted,
)
from testbeds.canary.reports import CT_IMAGE, code, fill_pdf, fill_sr

COMPREHENSIVE_SR: Final = "1.2.840.10008.5.1.4.1.1.88.33"
ENCAPSULATED_PDF: Final = "1.2.840.10008.5.1.4.1.1.104.1"
US_IMAGE: Final = "1.2.840.10008.5.1.4.1.1.6.1"
SECONDARY_CAPTURE: Final = "1.2.840.10008.5.1.4.1.1.7"
SIZE: Final = 64


@dataclass(frozen=True)
class CanarySeries:
    """One series: `kind` is ct, sr, pdf, us or sc; `datasets` its instances in order."""

    number: int
    kind: str
    modality: str
    series_uid: str
    sop_class_uid: str
    datasets: tuple[Dataset, ...]

    @property
    def sop_uids(self) -> tuple[str, ...]:
        return tuple(str(ds.SOPInstanceUID) for ds in self.datasets)


@dataclass(frozen=True)
class CanaryStudy:
    """One study of the canary patient."""

    number: int
    study_uid: str
    accession: str
    study_id: str
    date: str
    description: str
    series: tuple[CanarySeries, ...] = ()

    def of_kind(self, kind: str) -> CanarySeries:
        """The study's one series of `kind`."""
        (found,) = (s for s in self.series if s.kind == kind)
        return found

    def datasets(self) -> list[Dataset]:
        return [ds for series in self.series for ds in series.datasets]

    @property
    def instance_count(self) -> int:
        return sum(len(series.datasets) for series in self.series)


def _patient_and_study(ds: Dataset, study: CanaryStudy) -> None:
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName, ds.PatientID, ds.IssuerOfPatientID = PATIENT_NAME, PATIENT_ID, ISSUER
    ds.OtherPatientIDs = OTHER_PATIENT_ID
    other = Dataset()
    other.PatientID, other.IssuerOfPatientID, other.TypeOfPatientID = OTHER_PATIENT_ID, ISSUER, "TEXT"
    ds.OtherPatientIDsSequence = [other]
    ds.PatientBirthDate, ds.PatientSex = BIRTH_DATE, "F"
    ds.PatientAddress, ds.PatientTelephoneNumbers = ADDRESS, TELEPHONE
    ds.PatientComments = f"{FAMILY} prefers mornings; call {TELEPHONE}."
    ds.StudyInstanceUID, ds.StudyID, ds.AccessionNumber = study.study_uid, study.study_id, study.accession
    ds.StudyDate, ds.StudyTime, ds.StudyDescription = study.date, "101500", study.description
    ds.ReferringPhysicianName = REFERRER
    ds.InstitutionName, ds.InstitutionAddress = INSTITUTION, INSTITUTION_ADDRESS
    referenced = Dataset()
    referenced.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.1"  # Detached Study Management
    referenced.ReferencedSOPInstanceUID = study.study_uid
    request = Dataset()
    request.AccessionNumber, request.RequestedProcedureID = study.accession, REQUESTED_PROCEDURE_ID
    request.RequestedProcedureDescription = f"CT THORAX {FAMILY}"
    request.ScheduledProtocolCodeSequence = [code("RPID16", "RADLEX", "CT CHEST WITHOUT IV CONTRAST")]
    request.ReferencedStudySequence = [referenced]
    ds.RequestAttributesSequence = [request]
    block = ds.private_block(0x0033, PRIVATE_CREATOR, create=True)
    block.add_new(0x10, "LO", PATIENT_NAME)
    block.add_new(0x11, "LO", f"{PATIENT_ID} {BIRTH_DATE}")


def _instance(study: CanaryStudy, series: tuple[int, str, str, str], instance: int) -> Dataset:
    """An instance's patient, study, series and equipment; `series` is (number, modality, class, description)."""
    number, modality, sop_class, description = series
    ds = Dataset()
    _patient_and_study(ds, study)
    ds.SOPClassUID, ds.Modality = sop_class, modality
    ds.SeriesInstanceUID, ds.SeriesNumber = f"{ROOT}.2.{study.number}.{number}", number
    ds.SeriesDate, ds.SeriesTime, ds.SeriesDescription = study.date, "101500", description
    ds.PerformingPhysicianName, ds.OperatorsName = PERFORMER, OPERATOR
    ds.Manufacturer, ds.StationName, ds.DeviceSerialNumber = "ACME", STATION, DEVICE_SERIAL
    ds.SOPInstanceUID = f"{ROOT}.3.{study.number}.{number}.{instance}"
    ds.InstanceNumber = instance
    ds.ContentDate = ds.InstanceCreationDate = study.date
    ds.ContentTime = "101700"
    return ds


def _disc(inside: int, outside: int, radius: float) -> np.ndarray:
    y, x = np.mgrid[0:SIZE, 0:SIZE] - (SIZE - 1) / 2
    return np.where(x**2 + y**2 <= radius**2, inside, outside)


def _pixels(ds: Dataset, image_type: list[str], values: np.ndarray, bits: int) -> None:
    ds.ImageType, ds.BurnedInAnnotation = image_type, "NO"
    ds.ImageComments = f"Marker placed by {OPERATOR} for {FAMILY}"
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns = values.shape
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits, bits - 1, 0
    ds.PixelData = values.astype(np.uint16 if bits == 16 else np.uint8).tobytes()


def _ct_series(study: CanaryStudy, number: int, slices: int, description: str) -> CanarySeries:
    datasets = []
    for n in range(1, slices + 1):
        ds = _instance(study, (number, "CT", CT_IMAGE, description), n)
        ds.AcquisitionDate, ds.FrameOfReferenceUID = study.date, f"{ROOT}.4.{study.number}"
        ds.SliceThickness, ds.SliceLocation = 2.5, -100.0 - 2.5 * n
        ds.ImagePositionPatient, ds.ImageOrientationPatient = [-90, -90, -100.0 - 2.5 * n], [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing, ds.RescaleIntercept, ds.RescaleSlope = [2.8, 2.8], -1024, 1
        ds.WindowCenter, ds.WindowWidth = 40, 400
        _pixels(ds, ["ORIGINAL", "PRIMARY", "AXIAL"], _disc(1024 + 40 + 10 * n, 24, 24), 16)
        datasets.append(ds)
    return CanarySeries(number, "ct", "CT", str(datasets[0].SeriesInstanceUID), CT_IMAGE, tuple(datasets))


def _refused_image(study: CanaryStudy, number: int, kind: str) -> CanarySeries:
    """The ultrasound image, or the secondary capture (a CT screen save)."""
    if kind == "us":
        modality, sop_class, description = "US", US_IMAGE, "ABDOMEN US"
    else:
        modality, sop_class, description = "CT", SECONDARY_CAPTURE, "SCREEN SAVE"
    ds = _instance(study, (number, modality, sop_class, description), 1)
    if kind == "sc":
        ds.ConversionType = "WSD"
    _pixels(ds, ["ORIGINAL", "PRIMARY"], _disc(200, 10, 20), 8)
    return CanarySeries(number, kind, modality, str(ds.SeriesInstanceUID), sop_class, (ds,))


def _report(study: CanaryStudy, number: int, kind: str, ct: CanarySeries) -> CanarySeries:
    """The SR (kind "sr") about the CT slices, or the PDF (kind "pdf")."""
    if kind == "sr":
        ds = _instance(study, (number, "SR", COMPREHENSIVE_SR, "RADIOLOGY REPORT"), 1)
        fill_sr(ds, study.date, ct.series_uid, ct.sop_uids)
    else:
        ds = _instance(study, (number, "DOC", ENCAPSULATED_PDF, "SCANNED REPORT"), 1)
        fill_pdf(ds, study.date)
    modality = str(ds.Modality)
    return CanarySeries(number, kind, modality, str(ds.SeriesInstanceUID), str(ds.SOPClassUID), (ds,))


def _study(number: int, date: str, description: str) -> CanaryStudy:
    study_uid, accession, study_id = (
        f"{ROOT}.1.{number}",
        f"CANARYACC-{8811 + number}",
        f"CANARYSID-{4470 + number}",
    )
    return CanaryStudy(number, study_uid, accession, study_id, date, description)


def first_study() -> CanaryStudy:
    """CT (3 slices), SR, PDF, US, SC; its descriptions name the patient and dates."""
    study = _study(1, STUDY_DATE, f"CT THORAX {FAMILY} {PATIENT_ID} 1961-04-23")
    ct = _ct_series(study, 1, 3, f"AXIAL 2.5MM {FAMILY} 2019-06-11")
    reports = (_report(study, 2, "sr", ct), _report(study, 3, "pdf", ct))
    return replace(
        study, series=(ct, *reports, _refused_image(study, 4, "us"), _refused_image(study, 5, "sc"))
    )


def follow_up_study() -> CanaryStudy:
    """GAP_DAYS after the first: two CT slices."""
    study = _study(2, shifted(STUDY_DATE, GAP_DAYS), "CT THORAX FOLLOW-UP")
    return replace(study, series=(_ct_series(study, 1, 2, "AXIAL 2.5MM"),))
