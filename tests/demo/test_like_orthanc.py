"""The sample PACS, loaded with the test data set, answers raw C-FINDs exactly as Orthanc does.

Where Orthanc and dcmqrscp differ (tests/testbeds/test_pacs.py pins those differences down),
the sample PACS does as Orthanc: person names ignore case, ModalitiesInStudy matches, queries
are relational, answers come in UTF-8. One difference is deliberate: a PATIENT level query in
the Study Root model, which has no patient level, is refused (0xA900; dcmqrscp refuses too).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset

from dicom_mcp.demo import SamplePacs, start_sample_pacs
from testbeds.pacs import PATIENT_ROOT_FIND, STUDY_ROOT_FIND, Catalog, RunningPacs, c_find

UNIQUE = {
    "PATIENT": "PatientID",
    "STUDY": "StudyInstanceUID",
    "SERIES": "SeriesInstanceUID",
    "IMAGE": "SOPInstanceUID",
}
STUDY_1, STUDY_2, STUDY_6 = (f"1.2.826.0.1.3680043.8.498.4242.1.{n}" for n in (1, 2, 6))
EVERY_PATIENT_KEY = dict.fromkeys(
    [
        "PatientID",
        "PatientName",
        "PatientBirthDate",
        "PatientSex",
        "OtherPatientIDs",
        "NumberOfPatientRelatedStudies",
        "NumberOfPatientRelatedSeries",
        "NumberOfPatientRelatedInstances",
    ],
    "",
)
EVERY_STUDY_KEY = dict.fromkeys(
    [
        "StudyInstanceUID",
        "PatientID",
        "PatientName",
        "StudyDate",
        "StudyTime",
        "AccessionNumber",
        "StudyID",
        "StudyDescription",
        "ModalitiesInStudy",
        "SOPClassesInStudy",
        "NumberOfStudyRelatedSeries",
        "NumberOfStudyRelatedInstances",
        "ReferringPhysicianName",
        "PatientBirthDate",
        "PatientSex",
    ],
    "",
)
EVERY_SERIES_KEY = dict.fromkeys(
    [
        "SeriesInstanceUID",
        "StudyInstanceUID",
        "Modality",
        "SeriesNumber",
        "SeriesDescription",
        "SeriesDate",
        "SeriesTime",
        "BodyPartExamined",
        "ProtocolName",
        "NumberOfSeriesRelatedInstances",
    ],
    "",
)
EVERY_INSTANCE_KEY = dict.fromkeys(
    [
        "SOPInstanceUID",
        "SeriesInstanceUID",
        "SOPClassUID",
        "InstanceNumber",
        "ContentDate",
        "ContentTime",
        "Rows",
        "Columns",
        "ImageType",
        "AcquisitionNumber",
        "NumberOfFrames",
    ],
    "",
)

CASES: list[tuple[str, str, str | None, dict[str, Any]]] = [
    ("PATIENT", PATIENT_ROOT_FIND, None, EVERY_PATIENT_KEY),
    ("PATIENT", PATIENT_ROOT_FIND, "ISO_IR 100", {"PatientID": "", "PatientName": "MÜLLER*"}),
    ("PATIENT", PATIENT_ROOT_FIND, None, {"PatientID": "", "PatientName": "Yamada*"}),
    ("PATIENT", PATIENT_ROOT_FIND, "ISO_IR 192", {"PatientID": "", "PatientName": "Иванова*"}),
    ("STUDY", STUDY_ROOT_FIND, None, EVERY_STUDY_KEY),
    ("STUDY", STUDY_ROOT_FIND, None, {"StudyInstanceUID": "", "ModalitiesInStudy": "DX"}),
    ("STUDY", STUDY_ROOT_FIND, None, {"StudyInstanceUID": "", "ModalitiesInStudy": "CT\\MR"}),
    ("STUDY", STUDY_ROOT_FIND, None, {"StudyInstanceUID": "", "ModalitiesInStudy": "C*"}),
    ("STUDY", STUDY_ROOT_FIND, None, {"StudyInstanceUID": "", "PatientName": "smith*"}),
    ("STUDY", STUDY_ROOT_FIND, None, {"StudyInstanceUID": "", "ReferringPhysicianName": "referrer*"}),
    ("STUDY", STUDY_ROOT_FIND, None, {"StudyInstanceUID": "", "StudyDescription": "chest*"}),
    ("STUDY", STUDY_ROOT_FIND, None, {"StudyInstanceUID": "", "StudyDescription": "CHEST?CT"}),
    ("STUDY", STUDY_ROOT_FIND, None, {"StudyInstanceUID": "", "StudyTime": "090000-120000"}),
    ("STUDY", STUDY_ROOT_FIND, None, {"StudyInstanceUID": "", "StudyTime": "-100000"}),
    ("STUDY", STUDY_ROOT_FIND, None, {"StudyInstanceUID": "", "StudyDate": "20210101-20231231"}),
    ("STUDY", STUDY_ROOT_FIND, None, {"StudyInstanceUID": "", "StudyDate": "-20181231"}),
    ("STUDY", STUDY_ROOT_FIND, None, {"StudyInstanceUID": "", "StudyDate": "20240101-"}),
    ("STUDY", STUDY_ROOT_FIND, None, {"StudyInstanceUID": f"{STUDY_1}\\{STUDY_2}"}),
    ("STUDY", STUDY_ROOT_FIND, None, {"StudyInstanceUID": "", "AccessionNumber": "ACC100*"}),
    ("STUDY", STUDY_ROOT_FIND, None, {"StudyInstanceUID": "", "AccessionNumber": "acc1001"}),
    ("STUDY", STUDY_ROOT_FIND, None, {"StudyInstanceUID": "", "PatientID": "PAT00?"}),
    ("STUDY", STUDY_ROOT_FIND, None, {"StudyInstanceUID": "", "Modality": "MR"}),
    (
        "STUDY",
        STUDY_ROOT_FIND,
        None,
        {"StudyInstanceUID": "", "PatientID": "PAT001", "SeriesDescription": ""},
    ),
    ("STUDY", PATIENT_ROOT_FIND, None, {"StudyInstanceUID": "", "PatientID": "PAT001"}),
    ("SERIES", STUDY_ROOT_FIND, None, EVERY_SERIES_KEY),
    ("SERIES", STUDY_ROOT_FIND, None, {"SeriesInstanceUID": "", "Modality": "CT\\MR"}),
    ("SERIES", STUDY_ROOT_FIND, None, {"SeriesInstanceUID": "", "StudyDescription": "CHEST*"}),
    ("SERIES", STUDY_ROOT_FIND, None, {"SeriesInstanceUID": "", "SeriesNumber": "2"}),
    ("SERIES", STUDY_ROOT_FIND, None, {"SeriesInstanceUID": "", "PatientID": "PAT002"}),
    (
        "IMAGE",
        STUDY_ROOT_FIND,
        None,
        {"SOPInstanceUID": "", "StudyInstanceUID": STUDY_6, "InstanceNumber": "3"},
    ),
    ("IMAGE", STUDY_ROOT_FIND, None, {"PatientID": "PAT003", **EVERY_INSTANCE_KEY}),
    ("EVERYTHING", STUDY_ROOT_FIND, None, {"PatientID": "PAT001"}),
]


@pytest.fixture(scope="module")
def sample(pacs_catalog: Catalog) -> Iterator[SamplePacs]:
    with start_sample_pacs(dcmread(path) for path in pacs_catalog.files()) as pacs:
        yield pacs


def answers(
    port: int, ae_title: str, level: str, model: str, charset: str | None, keys: dict[str, Any]
) -> Any:
    """The final status, and each match's values by its unique key (all as text, empty as None)."""
    identifier = Dataset()
    if charset:
        identifier.SpecificCharacterSet = charset
    identifier.QueryRetrieveLevel = level
    for keyword, value in keys.items():
        setattr(identifier, keyword, value)
    status, matches = c_find(port, ae_title, identifier, model)
    shown = [*keys, "SpecificCharacterSet", "QueryRetrieveLevel"]
    return status, {
        str(match.get(UNIQUE.get(level, "PatientID"), "")): {
            keyword: str(match[keyword].value) if keyword in match and not match[keyword].is_empty else None
            for keyword in shown
        }
        for match in matches
    }


@pytest.mark.parametrize(
    ("level", "model", "charset", "keys"),
    CASES,
    ids=[f"{case[0].lower()}-{n}" for n, case in enumerate(CASES)],
)
def test_the_same_matches_and_values_as_orthanc(
    orthanc: RunningPacs,
    sample: SamplePacs,
    level: str,
    model: str,
    charset: str | None,
    keys: dict[str, Any],
) -> None:
    expected = answers(orthanc.port, orthanc.ae_title, level, model, charset, keys)
    assert answers(sample.port, sample.ae_title, level, model, charset, keys) == expected
