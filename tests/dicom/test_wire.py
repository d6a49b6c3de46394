"""The direct identifier writer gives pydicom's bytes exactly, and leaves to pydicom what it cannot."""

from __future__ import annotations

import itertools

import pytest
from pydicom.uid import UID, DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian, ExplicitVRLittleEndian

from dicom_mcp.dimse import wire
from dicom_mcp.dimse.identifiers import encode_query, written_by_pydicom
from dicom_mcp.model.levels import Level
from dicom_mcp.model.presets import PRESET_NAMES
from dicom_mcp.model.queries import Query, build_query
from dicom_mcp.model.validation import written

LITTLE_ENDIAN = [(True, "implicit"), (False, "explicit")]

MATCHING: dict[Level, list[dict[str, tuple[str, str | None]]]] = {
    Level.PATIENT: [
        {},
        {"PatientName": ("name_pattern", "SMITH*")},
        {"PatientName": ("name_pattern", "DOE^JOHN"), "PatientID": ("patient_id", "PAT001")},
        {"PatientBirthDate": ("birth_date", "19500101-19601231"), "PatientID": ("patient_id", "P-7")},
    ],
    Level.STUDY: [
        {"PatientID": ("patient_id", "12345")},
        {"StudyDate": ("study_date", "20240101-"), "ModalitiesInStudy": ("modality", "CT")},
        {"StudyInstanceUID": ("study_instance_uid", "1.2.3.45"), "AccessionNumber": ("a", "A1?")},
        {"StudyDescription": ("d", "*CHEST*"), "ReferringPhysicianName": ("r", "WHO^")},
    ],
    Level.SERIES: [
        {"StudyInstanceUID": ("study_instance_uid", "1.2.840.10008.1")},
        {"StudyInstanceUID": ("s", "1.2.3"), "Modality": ("modality", "MR"), "SeriesNumber": ("n", "3")},
    ],
    Level.INSTANCE: [
        {"StudyInstanceUID": ("s", "1.2.3"), "SeriesInstanceUID": ("t", "1.2.3.4")},
        {
            "SeriesInstanceUID": ("t", "1.2.3.4"),
            "SOPInstanceUID": ("u", "1.2.3.4.55"),
            "InstanceNumber": ("i", "12"),
        },
    ],
}
EXTRA: dict[Level, list[str]] = {  # more return keys, among them binary VRs (US) and long ones (UT)
    Level.PATIENT: ["PatientComments", "OtherPatientIDs", "EthnicGroup"],
    Level.STUDY: ["InstitutionName", "StudyTime", "NameOfPhysiciansReadingStudy"],
    Level.SERIES: ["BodyPartExamined", "ProtocolName", "PerformedProcedureStepStartDate"],
    Level.INSTANCE: ["Rows", "Columns", "NumberOfFrames", "ContentDate", "ImageComments"],
}


def queries() -> list[Query]:
    return [
        build_query(level, matching, preset, extra, None)
        for level, cases in MATCHING.items()
        for matching, preset, extra in itertools.product(cases, PRESET_NAMES, [None, EXTRA[level]])
    ]


@pytest.mark.parametrize(("implicit", "label"), LITTLE_ENDIAN)
def test_the_direct_bytes_are_pydicoms_bytes(implicit: bool, label: str) -> None:
    checked = 0
    for query in queries():
        direct = wire.encoded(query.elements(), implicit_vr=implicit, little_endian=True)
        assert direct is not None, query
        assert direct == written(query.identifier(), implicit_vr=implicit, little_endian=True), (label, query)
        checked += 1
    assert checked == len(queries()) == 72  # 12 identifiers x 3 presets x with and without extras


def test_encode_gives_the_same_bytes_either_way() -> None:
    for query in queries():
        for syntax in (UID("1.2.840.10008.1.2"), ExplicitVRLittleEndian, DeflatedExplicitVRLittleEndian):
            fast = encode_query(query, syntax)
            slow = written_by_pydicom(query, {"implicit_vr": syntax.is_implicit_VR, "little_endian": True})
            if not syntax.is_deflated:
                assert fast == slow


def test_what_needs_a_character_set_goes_to_pydicom() -> None:
    query = build_query(Level.PATIENT, {"PatientName": ("name_pattern", "MÜLLER*")}, None, None, None)
    assert wire.encoded(query.elements(), implicit_vr=False, little_endian=True) is None
    assert b"ISO_IR 100" in encode_query(query, ExplicitVRLittleEndian)


def test_big_endian_and_context_dependent_vrs_go_to_pydicom() -> None:
    query = build_query(Level.STUDY, {}, "minimal", None, None)
    assert wire.encoded(query.elements(), implicit_vr=False, little_endian=False) is None
    assert encode_query(query, ExplicitVRBigEndian) == written(
        query.identifier(), implicit_vr=False, little_endian=False
    )
    # SmallestImagePixelValue is "US or SS": its VR depends on PixelRepresentation.
    assert wire.encoded([("SmallestImagePixelValue", None)], implicit_vr=False, little_endian=True) is None


def test_a_binary_value_goes_to_pydicom() -> None:
    assert wire.encoded([("Rows", "512")], implicit_vr=False, little_endian=True) is None
