"""What a pseudonymised caller gets of each attribute (PS3.15 Annex E, as an allowlist)."""

from __future__ import annotations

import pytest

from dicom_mcp.privacy.annex_e import Action, action, registered, removed

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"


@pytest.mark.parametrize(
    "keyword",
    [
        # names of people other than the patient
        "ReferringPhysicianName",
        "PerformingPhysicianName",
        "OperatorsName",
        "PhysiciansOfRecord",
        "NameOfPhysiciansReadingStudy",
        "PatientMotherBirthName",
        "OtherPatientNames",
        # other identifiers
        "OtherPatientIDs",
        "IssuerOfPatientID",
        "DeviceSerialNumber",
        "RequestedProcedureID",
        "PerformedProcedureStepID",
        # addresses, telephones, places
        "PatientAddress",
        "PatientTelephoneNumbers",
        "InstitutionName",
        "InstitutionAddress",
        "InstitutionalDepartmentName",
        "StationName",
        "StationAETitle",
        # comments and free text
        "PatientComments",
        "StudyComments",
        "ImageComments",
        "AdditionalPatientHistory",
        "TextValue",
        # characteristics Annex E removes
        "EthnicGroup",
        "PatientReligiousPreference",
        "PatientBirthTime",
        # whole sequences nobody walks
        "RequestAttributesSequence",
        "ReferringPhysicianIdentificationSequence",
        "OtherPatientIDsSequence",
        "IconImageSequence",
        "OriginalAttributesSequence",
        # not DICOM keywords at all
        "NotAKeyword",
        "(0009,0010)",
        "patient_name",
    ],
)
def test_identifying_and_unknown_attributes_are_removed(keyword: str) -> None:
    assert action(keyword) is Action.REMOVE
    assert removed(keyword)


@pytest.mark.parametrize(
    ("keyword", "expected"),
    [
        ("PatientID", Action.PATIENT_ID),
        ("AccessionNumber", Action.ACCESSION),
        ("StudyID", Action.STUDY_ID),
        ("PatientName", Action.NAME),
    ],
)
def test_the_patients_identifiers_become_tokens(keyword: str, expected: Action) -> None:
    assert action(keyword) is expected
    assert not removed(keyword)


@pytest.mark.parametrize(
    "keyword",
    [
        "StudyInstanceUID",
        "SeriesInstanceUID",
        "SOPInstanceUID",
        "FrameOfReferenceUID",
        "ReferencedSOPInstanceUID",
        "IrradiationEventUID",
        "SOPClassUID",  # the value decides: a registered UID is kept (see below)
        "UID",
    ],
)
def test_uid_attributes_are_tokenised(keyword: str) -> None:
    assert action(keyword) is Action.UID


def test_registered_uids_are_told_apart_from_instance_uids() -> None:
    assert registered(CT_IMAGE_STORAGE)
    assert registered(EXPLICIT_VR_LITTLE_ENDIAN)
    assert not registered("1.2.826.0.1.3680043.8.498.10")
    assert not registered("2.25.12345")


@pytest.mark.parametrize(
    "keyword",
    [
        "StudyDate",
        "SeriesDate",
        "AcquisitionDate",
        "ContentDate",
        "PerformedProcedureStepStartDate",
        "AcquisitionDateTime",
        "Date",  # SR DATE items
        "DateTime",
    ],
)
def test_dates_and_date_times_move(keyword: str) -> None:
    assert action(keyword) is Action.DATE
    assert not removed(keyword)


def test_the_birth_date_becomes_an_age_and_cannot_be_asked_for() -> None:
    assert action("PatientBirthDate") is Action.AGE
    assert removed("PatientBirthDate")
    assert action("PatientAge") is Action.KEEP


@pytest.mark.parametrize(
    "keyword", ["StudyDescription", "SeriesDescription", "ProtocolName", "RequestedProcedureDescription"]
)
def test_descriptions_are_kept_to_be_cleaned(keyword: str) -> None:
    assert action(keyword) is Action.DESCRIPTION
    assert not removed(keyword)


@pytest.mark.parametrize(
    "keyword",
    [
        "Modality",
        "ModalitiesInStudy",
        "ImageType",
        "PatientSex",
        "PatientAge",
        "PatientWeight",
        "BodyPartExamined",
        "StudyTime",
        "ContentTime",
        "SeriesNumber",
        "InstanceNumber",
        "NumberOfStudyRelatedInstances",
        "Rows",
        "Columns",
        "BitsAllocated",
        "PixelSpacing",
        "SliceThickness",
        "KVP",
        "ImagePositionPatient",
        "WindowCenter",
        "RescaleIntercept",
        "BurnedInAnnotation",
        "Manufacturer",
        "ManufacturerModelName",
        "SoftwareVersions",
        "ConvolutionKernel",
        "CodeValue",
        "CodingSchemeDesignator",
        "CodeMeaning",
        "ValueType",
        "NumericValue",
        "RetrieveAETitle",
        "PixelData",  # the header shows its size, never the bytes
    ],
)
def test_technical_attributes_are_kept(keyword: str) -> None:
    assert action(keyword) is Action.KEEP
    assert not removed(keyword)


@pytest.mark.parametrize(
    "keyword",
    [
        "ContentSequence",
        "ConceptNameCodeSequence",
        "ReferencedSeriesSequence",
        "ReferencedSOPSequence",
        "SharedFunctionalGroupsSequence",
        "PerFrameFunctionalGroupsSequence",
    ],
)
def test_structural_sequences_are_walked(keyword: str) -> None:
    assert action(keyword) is Action.SEQUENCE
    assert not removed(keyword)
