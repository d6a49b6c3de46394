"""What the sample PACS answers, over its index: relational keys, computed attributes, refusals."""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset

from dicom_mcp.demo.find import (
    IDENTIFIER_DOES_NOT_MATCH,
    PATIENT_ROOT_FIND,
    STUDY_ROOT_FIND,
    STUDY_ROOT_GET,
    UNABLE_TO_PROCESS,
    Query,
    Refused,
    to_retrieve,
)
from dicom_mcp.demo.index import Index
from tests.demo.conftest import SampleData


@pytest.fixture(scope="module")
def index(sample_data: SampleData) -> Index:
    return Index(sample_data())


def identifier(level: str, **keys: object) -> Dataset:
    ds = Dataset()
    ds.QueryRetrieveLevel = level
    for keyword, value in keys.items():
        setattr(ds, keyword, value)
    return ds


def answers(index: Index, level: str, model: str = STUDY_ROOT_FIND, **keys: object) -> list[Dataset]:
    query = Query.read(identifier(level, **keys), model)
    return [query.answer(entity, "SAMPLE-PACS") for entity in query.matches(index)]


def test_a_patient_carries_its_counts(index: Index) -> None:
    (alice,) = answers(
        index,
        "PATIENT",
        PATIENT_ROOT_FIND,
        PatientID="DEMO-001",
        NumberOfPatientRelatedStudies="",
        NumberOfPatientRelatedSeries="",
        NumberOfPatientRelatedInstances="",
    )
    assert (
        alice.NumberOfPatientRelatedStudies,
        alice.NumberOfPatientRelatedSeries,
        alice.NumberOfPatientRelatedInstances,
    ) == (2, 4, 26)


def test_a_study_carries_its_modalities_classes_and_counts(index: Index) -> None:
    (study,) = answers(
        index,
        "STUDY",
        AccessionNumber="DEMO1002",
        ModalitiesInStudy="",
        SOPClassesInStudy="",
        NumberOfStudyRelatedSeries="",
        NumberOfStudyRelatedInstances="",
    )
    assert list(study.ModalitiesInStudy) == ["CT", "DOC", "SR"]
    assert len(study.SOPClassesInStudy) == 3
    assert (study.NumberOfStudyRelatedSeries, study.NumberOfStudyRelatedInstances) == (3, 14)


def test_keys_of_higher_levels_filter_and_keys_of_lower_levels_come_back_empty(index: Index) -> None:
    series = answers(index, "SERIES", PatientName="demo^bruno", Modality="MR", SeriesDescription="")
    assert [s.SeriesDescription for s in series] == ["T1 AXIAL", "T2 AXIAL"]
    studies = answers(index, "STUDY", PatientID="DEMO-002", Modality="")
    assert [s["Modality"].is_empty for s in studies] == [True]
    assert answers(index, "STUDY", PatientID="DEMO-002", Modality="MR") == []


def test_every_answer_has_its_level_s_unique_key_and_says_utf_8(index: Index) -> None:
    (zoe,) = answers(index, "PATIENT", PATIENT_ROOT_FIND, PatientName="DEMO^Z*")
    assert (zoe.PatientID, str(zoe.PatientName), zoe.SpecificCharacterSet) == (
        "DEMO-003",
        "DEMO^Zoë",
        "ISO_IR 192",
    )
    assert (zoe.QueryRetrieveLevel, zoe.RetrieveAETitle) == ("PATIENT", "SAMPLE-PACS")
    instances = answers(index, "IMAGE", AccessionNumber="DEMO3001")
    assert all("SOPInstanceUID" in ds for ds in instances) and len(instances) == 2


def test_results_come_in_the_hierarchy_s_order(index: Index) -> None:
    studies = answers(index, "STUDY", PatientID="DEMO-005", StudyDate="")
    assert [s.StudyDate for s in studies] == sorted(s.StudyDate for s in studies)
    numbers = [
        ds.InstanceNumber for ds in answers(index, "IMAGE", AccessionNumber="DEMO2001", InstanceNumber="")
    ]
    assert numbers == list(range(1, 11)) * 2


@pytest.mark.parametrize(
    ("level", "model", "status"),
    [
        ("", STUDY_ROOT_FIND, UNABLE_TO_PROCESS),
        ("EVERYTHING", STUDY_ROOT_FIND, UNABLE_TO_PROCESS),
        ("PATIENT", STUDY_ROOT_FIND, IDENTIFIER_DOES_NOT_MATCH),  # the Study Root model has no patients
    ],
)
def test_a_level_the_model_lacks_is_refused(level: str, model: str, status: int) -> None:
    with pytest.raises(Refused) as refused:
        Query.read(identifier(level, PatientID="DEMO-001"), model)
    assert refused.value.status == status


def test_a_retrieve_sends_every_instance_below_each_match_once(index: Index) -> None:
    study = answers(index, "STUDY", AccessionNumber="DEMO2001")[0].StudyInstanceUID
    assert len(to_retrieve(index, identifier("STUDY", StudyInstanceUID=study), STUDY_ROOT_GET)) == 20
    with pytest.raises(Refused):  # a retrieve names what it wants
        to_retrieve(index, identifier("STUDY", StudyInstanceUID=""), STUDY_ROOT_GET)


def test_an_instance_given_twice_is_indexed_once(sample_data: SampleData) -> None:
    datasets = sample_data()
    assert Index([*datasets, datasets[0]]).instance_count == len(datasets)
