"""Identifiers carry the level, the unique keys, the return keys and the right character set."""

from dicom_mcp.model.levels import Level
from dicom_mcp.model.queries import PATIENT_ROOT_FIND, STUDY_ROOT_FIND, build_query


def test_patient_level_uses_patient_root_and_others_study_root() -> None:
    assert build_query(Level.PATIENT, {}, None, None, None).model == PATIENT_ROOT_FIND
    for level in (Level.STUDY, Level.SERIES, Level.INSTANCE):
        assert build_query(level, {}, None, None, None).model == STUDY_ROOT_FIND


def test_instance_identifier_is_image_level_with_parent_uids() -> None:
    query = build_query(
        Level.INSTANCE, {"SeriesInstanceUID": ("series_instance_uid", "1.2.3")}, "minimal", None, None
    )
    ds = query.with_matching("StudyInstanceUID", "1.2").identifier()
    assert ds.QueryRetrieveLevel == "IMAGE"
    assert ds.StudyInstanceUID == "1.2"
    assert ds.SeriesInstanceUID == "1.2.3"
    assert "SOPInstanceUID" in ds and not ds.SOPInstanceUID  # an empty return key


def test_ascii_values_declare_no_character_set() -> None:
    ds = build_query(
        Level.PATIENT, {"PatientName": ("name_pattern", "SMITH*")}, None, None, None
    ).identifier()
    assert "SpecificCharacterSet" not in ds


def test_latin1_values_are_sent_as_iso_ir_100() -> None:
    ds = build_query(
        Level.PATIENT, {"PatientName": ("name_pattern", "Müller*")}, None, None, None
    ).identifier()
    assert ds.SpecificCharacterSet == "ISO_IR 100"


def test_other_scripts_are_sent_as_utf8() -> None:
    ds = build_query(Level.PATIENT, {"PatientName": ("name_pattern", "山田*")}, None, None, None).identifier()
    assert ds.SpecificCharacterSet == "ISO_IR 192"


def test_asking_for_the_query_retrieve_level_as_a_column_keeps_it_set() -> None:
    query = build_query(Level.STUDY, {}, None, ["QueryRetrieveLevel"], None)
    assert query.identifier().QueryRetrieveLevel == "STUDY"
