"""Deterministic synthetic DICOM data set and the Catalog describing its ground truth.

Most instances are headers only. One study (`Catalog.report_study`) holds what a reader needs:
CT slices with pixel data (`ct_slices.py`), a structured report and an encapsulated PDF
(`reports.py`); a Series' `content` says which.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, UID, ExplicitVRLittleEndian

from testbeds.pacs.ct_slices import fill_ct_slice
from testbeds.pacs.reports import (
    COMPREHENSIVE_SR,
    ENCAPSULATED_PDF,
    fill_encapsulated_pdf,
    fill_structured_report,
)

# pydicom's registered root plus a private branch; fixed counters keep every rerun byte-identical.
UID_ROOT = "1.2.826.0.1.3680043.8.498.4242."

LARGE_SERIES_SIZE = 1050  # deliberately above 1000 so a server-side cap at 1000 would show up

SOP_CLASSES: dict[str, str] = {
    "CT": "1.2.840.10008.5.1.4.1.1.2",  # CT Image Storage
    "MR": "1.2.840.10008.5.1.4.1.1.4",  # MR Image Storage
    "US": "1.2.840.10008.5.1.4.1.1.6.1",  # Ultrasound Image Storage
    "CR": "1.2.840.10008.5.1.4.1.1.1",  # Computed Radiography Image Storage
    "DX": "1.2.840.10008.5.1.4.1.1.1.1",  # Digital X-Ray Image Storage - For Presentation
    "PT": "1.2.840.10008.5.1.4.1.1.128",  # Positron Emission Tomography Image Storage
    "SR": COMPREHENSIVE_SR,
    "DOC": ENCAPSULATED_PDF,
}
# What a series' instances hold beyond the shared header: "" nothing, or one of these.
CT_SLICES, STRUCTURED_REPORT, PDF_REPORT = "ct-slices", "sr", "pdf"

JAPANESE_NAME = "Yamada^Tarou=山田^太郎=やまだ^たろう"  # PS3.5 H.3.1 example


@dataclass(frozen=True)
class Patient:
    """A patient; `charset` is SpecificCharacterSet as written (empty tuple = default repertoire)."""

    patient_id: str
    name: str
    birth_date: str
    sex: str
    charset: tuple[str, ...] = ()


@dataclass(frozen=True)
class Study:
    """A study; `modalities` is the sorted set of series modalities (ModalitiesInStudy)."""

    study_uid: str
    patient_id: str
    date: str
    time: str
    description: str
    accession_number: str
    study_id: str
    modalities: tuple[str, ...]


@dataclass(frozen=True)
class Series:
    """A series and the number of instances it holds; `content`: CT_SLICES, STRUCTURED_REPORT, PDF_REPORT or ""."""

    series_uid: str
    study_uid: str
    modality: str
    number: int
    description: str
    instance_count: int
    sop_class_uid: str
    content: str = ""


@dataclass(frozen=True)
class Instance:
    """An instance; `filename` is relative to the data set directory."""

    sop_uid: str
    series_uid: str
    instance_number: int
    filename: str


@dataclass(frozen=True)
class Catalog:
    """Ground truth of the synthetic data set with convenience lookups."""

    directory: Path | None
    patients: tuple[Patient, ...]
    studies: tuple[Study, ...]
    series: tuple[Series, ...]
    instances: tuple[Instance, ...]
    large_series_uid: str

    @cached_property
    def _patients_by_id(self) -> dict[str, Patient]:
        return {p.patient_id: p for p in self.patients}

    @cached_property
    def _studies_by_uid(self) -> dict[str, Study]:
        return {s.study_uid: s for s in self.studies}

    @cached_property
    def _series_by_uid(self) -> dict[str, Series]:
        return {s.series_uid: s for s in self.series}

    @cached_property
    def _instances_by_uid(self) -> dict[str, Instance]:
        return {i.sop_uid: i for i in self.instances}

    def patient_by_id(self, patient_id: str) -> Patient:
        """Return the patient with this PatientID (KeyError if unknown)."""
        return self._patients_by_id[patient_id]

    def patient_by_name(self, name: str) -> Patient:
        """Return the patient whose full PN string equals `name` (KeyError if unknown)."""
        for patient in self.patients:
            if patient.name == name:
                return patient
        raise KeyError(name)

    def study_by_uid(self, study_uid: str) -> Study:
        """Return the study with this StudyInstanceUID."""
        return self._studies_by_uid[study_uid]

    def study_by_accession(self, accession_number: str) -> Study:
        """Return the study with this AccessionNumber."""
        for study in self.studies:
            if study.accession_number == accession_number:
                return study
        raise KeyError(accession_number)

    def series_by_uid(self, series_uid: str) -> Series:
        """Return the series with this SeriesInstanceUID."""
        return self._series_by_uid[series_uid]

    def instance_by_uid(self, sop_uid: str) -> Instance:
        """Return the instance with this SOPInstanceUID."""
        return self._instances_by_uid[sop_uid]

    def patient_for_study(self, study_uid: str) -> Patient:
        """Return the patient owning a study."""
        return self.patient_by_id(self.study_by_uid(study_uid).patient_id)

    def study_for_series(self, series_uid: str) -> Study:
        """Return the study owning a series."""
        return self.study_by_uid(self.series_by_uid(series_uid).study_uid)

    def studies_for_patient(self, patient_id: str) -> tuple[Study, ...]:
        """Return the studies of a patient in data set order."""
        return tuple(s for s in self.studies if s.patient_id == patient_id)

    def series_for_study(self, study_uid: str) -> tuple[Series, ...]:
        """Return the series of a study in data set order."""
        return tuple(s for s in self.series if s.study_uid == study_uid)

    def instances_for_series(self, series_uid: str) -> tuple[Instance, ...]:
        """Return the instances of a series ordered by InstanceNumber."""
        return tuple(i for i in self.instances if i.series_uid == series_uid)

    def studies_with_modality(self, modality: str) -> tuple[Study, ...]:
        """Return the studies whose ModalitiesInStudy contains `modality`."""
        return tuple(s for s in self.studies if modality in s.modalities)

    def studies_in_year(self, year: int) -> tuple[Study, ...]:
        """Return the studies whose StudyDate falls in `year`."""
        return tuple(s for s in self.studies if s.date.startswith(f"{year:04d}"))

    def study_instance_count(self, study_uid: str) -> int:
        """Return NumberOfStudyRelatedInstances for a study."""
        return sum(s.instance_count for s in self.series_for_study(study_uid))

    def series_with_content(self, content: str) -> tuple[Series, ...]:
        """Return the series whose instances hold `content` (CT_SLICES, STRUCTURED_REPORT, PDF_REPORT)."""
        return tuple(s for s in self.series if s.content == content)

    @property
    def report_study(self) -> Study:
        """Return the study with a structured report, an encapsulated PDF and CT slices with pixels."""
        return self.study_for_series(self.series_with_content(STRUCTURED_REPORT)[0].series_uid)

    @property
    def large_series(self) -> Series:
        """Return the CT series with LARGE_SERIES_SIZE instances."""
        return self.series_by_uid(self.large_series_uid)

    @property
    def instance_count(self) -> int:
        """Return the total number of instances in the data set."""
        return len(self.instances)

    def files(self) -> list[Path]:
        """Return absolute paths of all written files (needs a built data set)."""
        if self.directory is None:
            raise ValueError("catalog was made without writing files; use build_dataset()")
        return [self.directory / i.filename for i in self.instances]


@dataclass(frozen=True)
class _SeriesSpec:
    modality: str
    description: str
    count: int
    content: str = ""


@dataclass(frozen=True)
class _StudySpec:
    patient_id: str
    date: str
    time: str
    description: str
    accession_number: str
    series: tuple[_SeriesSpec, ...]


_PATIENTS: tuple[Patient, ...] = (
    Patient("PAT001", "SMITH^JOHN", "19650312", "M"),
    Patient("PAT002", "SMITH^JANE", "19700521", "F"),
    Patient("PAT003", "JONES^ROBERT", "19880830", "M"),
    Patient("PAT004", "Müller^Jürgen", "19550101", "M", ("ISO_IR 100",)),
    Patient("PAT005", JAPANESE_NAME, "19800214", "M", ("", "ISO 2022 IR 87")),
    Patient("PAT006", "Иванова^Мария", "19921123", "F", ("ISO_IR 192",)),
    Patient("PAT007", "BROWN^EMMA", "20010607", "F"),
    Patient("PAT008", "TAYLOR^OLIVIA", "19760419", "F"),
)


def _s(modality: str, description: str, count: int = 1, content: str = "") -> _SeriesSpec:
    return _SeriesSpec(modality, description, count, content)


_STUDIES: tuple[_StudySpec, ...] = (
    _StudySpec("PAT001", "20180314", "093000", "CHEST CT", "ACC1001", (_s("CT", "AXIAL 5MM", 3),)),
    _StudySpec(
        "PAT001", "20210722", "141500", "BRAIN MRI", "ACC1002", (_s("MR", "T1 SAG", 2), _s("MR", "T2 AX", 3))
    ),
    _StudySpec(
        "PAT001",
        "20230905",
        "080000",
        "CT CHEST ABDOMEN PELVIS",
        "ACC1003",
        (_s("CT", "SCOUT", 1), _s("CT", "THIN 0.625MM", LARGE_SERIES_SIZE)),
    ),
    _StudySpec("PAT002", "20190611", "101010", "ABDOMEN US", "ACC2001", (_s("US", "ABDOMEN", 4),)),
    _StudySpec("PAT002", "20240130", "153000", "CHEST XRAY", "ACC2002", (_s("CR", "PA"), _s("DX", "LAT"))),
    _StudySpec(
        "PAT003",
        "20200817",
        "111500",
        "PET-CT WHOLE BODY",
        "ACC3001",
        (_s("PT", "PET WB", 5), _s("CT", "CT AC", 3)),
    ),
    _StudySpec("PAT003", "20250102", "090000", "KNEE MRI", "ACC3002", (_s("MR", "PD FS COR", 2),)),
    _StudySpec("PAT004", "20220404", "074500", "CHEST CT", "ACC4001", (_s("CT", "AXIAL 1MM", 2),)),
    _StudySpec("PAT005", "20190920", "130000", "HAND XRAY", "ACC5001", (_s("DX", "PA", 2),)),
    _StudySpec("PAT005", "20250615", "103000", "CARDIAC MRI", "ACC5002", (_s("MR", "CINE", 3),)),
    _StudySpec("PAT006", "20211111", "111111", "PELVIS US", "ACC6001", (_s("US", "PELVIS", 2),)),
    _StudySpec("PAT007", "20181203", "164500", "CHEST XRAY", "ACC7001", (_s("CR", "AP"),)),
    _StudySpec("PAT007", "20240808", "120000", "BRAIN CT", "ACC7002", (_s("CT", "HEAD", 2),)),
    _StudySpec(
        "PAT008",
        "20220916",
        "101500",
        "CT THORAX",
        "ACC8001",
        (
            _s("CT", "THORAX 1.25MM", 3, CT_SLICES),
            _s("SR", "RADIOLOGY REPORT", 1, STRUCTURED_REPORT),
            _s("DOC", "SCANNED REPORT", 1, PDF_REPORT),
        ),
    ),
)


def _series_for(spec: _StudySpec, study_uid: str, study_no: int) -> list[Series]:
    return [
        Series(
            series_uid=f"{UID_ROOT}2.{study_no}.{number}",
            study_uid=study_uid,
            modality=s.modality,
            number=number,
            description=s.description,
            instance_count=s.count,
            sop_class_uid=SOP_CLASSES[s.modality],
            content=s.content,
        )
        for number, s in enumerate(spec.series, start=1)
    ]


def _instances_for(series: Series, study_no: int) -> list[Instance]:
    return [
        Instance(
            sop_uid=f"{UID_ROOT}3.{study_no}.{series.number}.{n}",
            series_uid=series.series_uid,
            instance_number=n,
            filename=f"{study_no:02d}_{series.number:02d}_{n:05d}.dcm",
        )
        for n in range(1, series.instance_count + 1)
    ]


def make_catalog(directory: Path | None = None) -> Catalog:
    """Return the ground-truth Catalog without writing any file."""
    studies: list[Study] = []
    all_series: list[Series] = []
    instances: list[Instance] = []
    for study_no, spec in enumerate(_STUDIES, start=1):
        study_uid = f"{UID_ROOT}1.{study_no}"
        series = _series_for(spec, study_uid, study_no)
        modalities = tuple(sorted({s.modality for s in series}))
        studies.append(
            Study(
                study_uid,
                spec.patient_id,
                spec.date,
                spec.time,
                spec.description,
                spec.accession_number,
                str(study_no),
                modalities,
            )
        )
        all_series.extend(series)
        for s in series:
            instances.extend(_instances_for(s, study_no))
    large = next(s for s in all_series if s.instance_count == LARGE_SERIES_SIZE)
    return Catalog(
        directory, _PATIENTS, tuple(studies), tuple(all_series), tuple(instances), large.series_uid
    )


def _base_dataset(catalog: Catalog, series: Series) -> Dataset:
    """Build the patient/study/series part shared by every instance of a series."""
    study = catalog.study_by_uid(series.study_uid)
    patient = catalog.patient_by_id(study.patient_id)
    ds = Dataset()
    if patient.charset:
        # Must be set before PN/LO values are encoded on write.
        ds.SpecificCharacterSet = list(patient.charset) if len(patient.charset) > 1 else patient.charset[0]
    ds.SOPClassUID = series.sop_class_uid
    ds.StudyDate = study.date
    ds.SeriesDate = study.date
    ds.StudyTime = study.time
    ds.SeriesTime = study.time
    ds.AccessionNumber = study.accession_number
    ds.Modality = series.modality
    ds.ReferringPhysicianName = "REFERRER^DEFAULT"
    ds.StudyDescription = study.description
    ds.SeriesDescription = series.description
    ds.PatientName = patient.name
    ds.PatientID = patient.patient_id
    ds.PatientBirthDate = patient.birth_date
    ds.PatientSex = patient.sex
    ds.StudyInstanceUID = study.study_uid
    ds.SeriesInstanceUID = series.series_uid
    ds.StudyID = study.study_id
    ds.SeriesNumber = series.number
    return ds


Fill = Callable[[Dataset, Instance], None]


def _content_filler(catalog: Catalog, series: Series) -> Fill | None:
    """What adds a series' `content` to each of its instances (None: headers only)."""
    if series.content == CT_SLICES:
        return lambda ds, instance: fill_ct_slice(ds, instance.instance_number)
    if series.content == STRUCTURED_REPORT:
        (ct,) = (s for s in catalog.series_for_study(series.study_uid) if s.content == CT_SLICES)
        slices = [i.sop_uid for i in catalog.instances_for_series(ct.series_uid)]
        return lambda ds, instance: fill_structured_report(ds, ct.series_uid, slices)
    if series.content == PDF_REPORT:
        return lambda ds, instance: fill_encapsulated_pdf(ds)
    return None


def _write_instance(base: Dataset, instance: Instance, directory: Path, fill: Fill | None = None) -> None:
    """Write one Part 10 file in Explicit VR Little Endian."""
    ds = Dataset(base)  # shallow: shares the series-level elements, far cheaper than copy()
    ds.SOPInstanceUID = UID(instance.sop_uid)
    ds.InstanceNumber = instance.instance_number
    if fill is not None:
        fill(ds, instance)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = base.SOPClassUID
    meta.MediaStorageSOPInstanceUID = UID(instance.sop_uid)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.file_meta = meta
    ds.save_as(directory / instance.filename, enforce_file_format=True)


def build_dataset(directory: Path) -> Catalog:
    """Write the synthetic data set into `directory` and return its Catalog."""
    directory.mkdir(parents=True, exist_ok=True)
    catalog = make_catalog(directory)
    for series in catalog.series:
        base = _base_dataset(catalog, series)
        fill = _content_filler(catalog, series)
        for instance in catalog.instances_for_series(series.series_uid):
            _write_instance(base, instance, directory, fill)
    return catalog
