"""Caller input is checked before it becomes a DICOM identifier."""

import pytest

from dicom_mcp.dicom.errors import InvalidQuery
from dicom_mcp.dicom.presets import Level
from dicom_mcp.dicom.queries import build_query, return_keys


def patients(**matching: str) -> object:
    keys = {"name_pattern": "PatientName", "patient_id": "PatientID", "birth_date": "PatientBirthDate"}
    return build_query(Level.PATIENT, {keys[k]: (k, v) for k, v in matching.items()}, None, None, None)


@pytest.mark.parametrize("value", ["20240131", "20240101-20241231", "20240101-", "-20241231"])
def test_dates_and_ranges_are_accepted(value: str) -> None:
    query = build_query(Level.STUDY, {"StudyDate": ("study_date", value)}, None, None, None)
    assert query.value_of("StudyDate") == value


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("20230230", "not a real calendar date"),
        ("2024-01-01", "YYYYMMDD"),
        ("20241301", "not a real calendar date"),
        ("20241231-20240101", "start is after its end"),
        ("-", "YYYYMMDD"),
        ("2024010", "YYYYMMDD"),
        ("20240101-20240102-20240103", "YYYYMMDD"),
    ],
)
def test_impossible_or_malformed_dates_are_refused(value: str, reason: str) -> None:
    with pytest.raises(InvalidQuery, match=reason):
        build_query(Level.STUDY, {"StudyDate": ("study_date", value)}, None, None, None)


@pytest.mark.parametrize("uid", ["1.2.3.04", "1..2", "1.2.a", ".1.2", "1." + "2" * 70, "1.2 "])
def test_malformed_uids_are_refused(uid: str) -> None:
    with pytest.raises(InvalidQuery, match="study_instance_uid must be a DICOM UID"):
        build_query(Level.SERIES, {"StudyInstanceUID": ("study_instance_uid", uid)}, None, None, None)


def test_backslash_is_refused_in_single_values() -> None:
    with pytest.raises(InvalidQuery, match="backslash"):
        patients(patient_id="A\\B")


def test_control_characters_are_refused() -> None:
    with pytest.raises(InvalidQuery, match="control characters"):
        patients(name_pattern="SMITH\x1b[31m")


def test_over_long_values_are_refused_per_vr() -> None:
    with pytest.raises(InvalidQuery, match="too long"):
        patients(patient_id="X" * 65)
    with pytest.raises(InvalidQuery, match="too long"):
        patients(name_pattern="A" * 10_000)


def test_error_messages_never_echo_the_value() -> None:
    secret = "DOE^SECRET" + "X" * 100
    with pytest.raises(InvalidQuery) as caught:
        patients(name_pattern=secret)
    assert "SECRET" not in str(caught.value)


def test_modality_must_be_a_code_string() -> None:
    with pytest.raises(InvalidQuery, match="upper-case"):
        build_query(Level.SERIES, {"Modality": ("modality", "ct")}, None, None, None)


def test_instance_number_must_be_an_integer() -> None:
    with pytest.raises(InvalidQuery, match="integer"):
        build_query(Level.INSTANCE, {"InstanceNumber": ("instance_number", "one")}, None, None, None)


def test_unknown_preset_names_the_valid_ones() -> None:
    with pytest.raises(InvalidQuery, match="minimal, standard, extended"):
        return_keys(Level.STUDY, "everything", None, None)


@pytest.mark.parametrize("keyword", ["PatientsName", "Patient Name", "0010,0010", "", "CommandGroupLength"])
def test_attribute_names_must_be_dicom_keywords(keyword: str) -> None:
    with pytest.raises(InvalidQuery):
        return_keys(Level.PATIENT, None, [keyword], None)


def test_return_keys_are_preset_plus_additional_minus_excluded() -> None:
    keys = return_keys(Level.PATIENT, "minimal", ["PatientBirthDate", "PatientID"], ["PatientName"])
    assert keys == ("PatientID", "PatientBirthDate")


def test_empty_matching_values_are_ignored() -> None:
    query = patients(name_pattern="", patient_id="P1")
    assert query.matching == (("PatientID", "P1"),)
