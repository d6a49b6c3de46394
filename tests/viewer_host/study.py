"""A generated study for the viewer's tests: its right pictures follow from its numbers alone.

Series 1, CT "AXIAL": SLICES slices of a phantom (air -1000 HU, a body, two lungs -800 HU and a
bone ring +1000 HU), instance number k+1 holding a body of body_hu(k); its own window is 40/400.
Series 2, CR: the MONOCHROME1 bands of testbeds.images. Series 3, OT "NOISE": three large
noisy frames whose PNGs pass the viewer's per-picture cap. Series 4, SR: one report with text.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from testbeds import images

ROOT = "1.2.826.0.1.3680043.8.498.7715."
STUDY_UID = f"{ROOT}1"
SLICES = 7
SIZE = 256
COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"
REPORT_TEXT = "No focal lesion. Lungs clear."
# (row, column) of each region in a SIZE x SIZE slice (see phantom_hu).
AIR, BODY, LUNG, BONE = (4, 4), (128, 128), (128, 82), (65, 128)


def body_hu(index: int) -> int:
    """The body's value in slice `index` (from 0): it tells the slices apart."""
    return 20 * index - 60


def phantom_hu(index: int) -> np.ndarray:
    y, x = np.mgrid[0:SIZE, 0:SIZE] / SIZE - 0.5
    hu = np.full((SIZE, SIZE), -1000, np.int32)
    hu[(x / 0.45) ** 2 + (y / 0.35) ** 2 <= 1] = body_hu(index)
    for centre in (-0.18, 0.18):
        hu[((x - centre) / 0.12) ** 2 + (y / 0.2) ** 2 <= 1] = -800
    radius = x**2 + (y + 0.2) ** 2
    hu[(radius <= 0.06**2) & (radius >= 0.035**2)] = 1000
    return hu


def linear(value: float, center: float, width: float) -> int:
    """DICOM's LINEAR VOI function into 0..255 (PS3.3 C.11.2.1.2.1), rounded."""
    if value <= center - 0.5 - (width - 1) / 2:
        return 0
    if value > center - 0.5 + (width - 1) / 2:
        return 255
    return round(((value - (center - 0.5)) / (width - 1) + 0.5) * 255)


@dataclass
class Study:
    directory: Path
    ct: list[Dataset] = field(default_factory=list)
    cr: Dataset | None = None
    noise: list[Dataset] = field(default_factory=list)
    report: Dataset | None = None

    @property
    def ct_series(self) -> str:
        return str(self.ct[0].SeriesInstanceUID)


def _into_study(ds: Dataset, series_uid: str, series_number: int, description: str) -> Dataset:
    ds.StudyInstanceUID, ds.SeriesInstanceUID = STUDY_UID, series_uid
    ds.SeriesNumber, ds.SeriesDescription = series_number, description
    ds.PatientName, ds.PatientID = "VIEWER^TEST", "VIEW001"
    ds.StudyDate, ds.StudyTime, ds.AccessionNumber = "20240611", "101500", "VIEWACC1"
    return ds


def ct_slice(index: int, series_uid: str) -> Dataset:
    ds = images.ct()
    ds.Rows = ds.Columns = SIZE
    ds.PixelData = (phantom_hu(index) + 1024).astype(np.uint16).tobytes()
    ds.InstanceNumber = index + 1
    ds.ImagePositionPatient = [0, 0, -5.0 * index]
    return _into_study(ds, series_uid, 1, "AXIAL")


def noisy(index: int, series_uid: str) -> Dataset:
    ds = images.signed12()  # Secondary Capture, window 0/4096
    ds.Rows = ds.Columns = 512
    rng = np.random.default_rng(index)
    ds.PixelData = rng.integers(-2048, 2048, size=(512, 512), dtype=np.int16).tobytes()
    ds.InstanceNumber = index + 1
    return _into_study(ds, series_uid, 3, "NOISE")


def sr_report(series_uid: str) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = COMPREHENSIVE_SR
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid(prefix=ROOT)
    ds.Modality, ds.InstanceNumber = "SR", 1
    ds.ValueType, ds.ContinuityOfContent = "CONTAINER", "SEPARATE"
    ds.ConceptNameCodeSequence = [_code("18782-3", "LN", "Radiology Study observation")]
    ds.CompletionFlag, ds.VerificationFlag, ds.ContentDate = "COMPLETE", "UNVERIFIED", "20240611"
    finding = Dataset()
    finding.RelationshipType, finding.ValueType = "CONTAINS", "TEXT"
    finding.ConceptNameCodeSequence = [_code("121071", "DCM", "Finding")]
    finding.TextValue = REPORT_TEXT
    ds.ContentSequence = [finding]
    return _into_study(ds, series_uid, 4, "REPORT")


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def build(directory: Path) -> Study:
    """Write the study's instances as Part 10 files into `directory` (in shuffled order)."""
    study = Study(directory)
    ct_series, noise_series = generate_uid(prefix=ROOT), generate_uid(prefix=ROOT)
    study.ct = [ct_slice(index, ct_series) for index in range(SLICES)]
    study.cr = _into_study(images.monochrome1(), generate_uid(prefix=ROOT), 2, "CHEST")
    study.cr.Modality = "CR"
    study.noise = [noisy(index, noise_series) for index in range(3)]
    study.report = sr_report(generate_uid(prefix=ROOT))
    every = [*study.ct, study.cr, *study.noise, study.report]
    random.Random(7).shuffle(every)
    for number, ds in enumerate(every):
        images.write(ds, directory / f"{number:03}.dcm")
    return study
