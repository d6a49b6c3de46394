"""Caller input is checked before it becomes a DICOM identifier."""

import pytest
from pydicom.datadict import DicomDictionary
from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from dicom_mcp.dimse.identifiers import encode_query
from dicom_mcp.errors import InvalidQuery
from dicom_mcp.model.levels import Level
from dicom_mcp.model.queries import Query, build_query, return_keys
from dicom_mcp.model.validation import check_uid


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


def series_of(study_uid: str) -> Query:
    return build_query(
        Level.SERIES, {"StudyInstanceUID": ("study_instance_uid", study_uid)}, None, None, None
    )


@pytest.mark.parametrize(
    "uid",
    [
        "1.2.840.10008.5.1.4.1.1.2",
        "dccc9599087131742838cc1162a630fea87ba9bf61ac09bfda90d4adfa5ddaed",  # pydicom-data's bad_sequence.dcm
        "6f1c2a4e-9b7d-4c3e-8a5f-0d2e4b6a8c1f",  # a UUID in place of a UID
        "1.2.3.04",  # leading zero in a component
        "1..2",
        "1" * 64,
    ],
)
def test_identifiers_as_pacs_hold_them_are_accepted(uid: str) -> None:
    assert series_of(uid).value_of("StudyInstanceUID") == uid


# Every character outside letters, digits, '.' and '-' is refused; these are the ones that could
# make a key match more than itself somewhere, each with why.
WIDENING = {
    "*": "DICOM wildcard, any run of characters",
    "?": "DICOM wildcard, any one character",
    "\\": "list separator: matches any of several UIDs",
    "%": "SQL LIKE wildcard, in archives that match through a database",
    "_": "SQL LIKE wildcard, any one character",
    " ": "trimmed by PACS: a key of spaces becomes empty, which matches everything",
    "\x00": "NUL padding, trimmed as a space is",
    "\r": "control character",
    "\n": "control character",
    "\x1b": "control character (terminal escape)",
    "\x7f": "control character (DEL)",
    "\x85": "C1 control character (next line)",
    "\u2028": "Unicode line separator",
    "\u00e9": "non-ASCII: another character set could read it as something else",
    "^": "PN component separator",
    "=": "PN component group separator",
    "/": "path separator in DICOMweb URLs",
    "#": "starts a URL fragment",
}


@pytest.mark.parametrize("character", list(WIDENING), ids=[repr(c) for c in WIDENING])
def test_a_uid_key_with_a_character_that_could_widen_a_match_is_refused(character: str) -> None:
    for uid in (f"1.2.3{character}", f"{character}1.2.3", character, f"1.2{character}3"):
        with pytest.raises(InvalidQuery, match="study_instance_uid must be a DICOM UID"):
            series_of(uid)


@pytest.mark.parametrize("uid", ["", "1" * 65, "1." + "2" * 70])
def test_empty_or_over_long_uids_are_refused(uid: str) -> None:
    with pytest.raises(InvalidQuery, match="study_instance_uid must be a DICOM UID"):
        check_uid("study_instance_uid", uid)  # an empty key is universal matching; the tools never send one


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


@pytest.mark.parametrize(
    "control", ["\x85", "\x80", "\x9b", "\x9f", "\u2028", "\u2029", "\x7f", "\x00"], ids=ascii
)
def test_c1_controls_and_unicode_line_separators_are_refused(control: str) -> None:
    with pytest.raises(InvalidQuery, match=r"^name_pattern must not contain control characters$"):
        patients(name_pattern=f"SMITH{control}*")


@pytest.mark.parametrize("value", ["Müller^J*", "山田^太郎", "O'NEIL-SMITH", "\xa0SMITH", "Ÿ*"])
def test_printable_non_ascii_text_is_accepted(value: str) -> None:
    assert patients(name_pattern=value).value_of("PatientName") == value


BULK: list[tuple[str, str]] = [
    ("PixelData", "OB or OW"),
    ("FloatPixelData", "OF"),
    ("DoubleFloatPixelData", "OD"),
    ("WaveformData", "OB or OW"),
    ("LUTData", "US or OW"),
    ("RedPaletteColorLookupTableData", "OW"),
    ("SegmentedRedPaletteColorLookupTableData", "OW"),
    ("EncapsulatedDocument", "OB"),
    ("GrayLookupTableData", "US or SS or OW"),
    ("ExtendedOffsetTable", "OV"),
    ("TrackPointIndexList", "OL"),
    ("SelectorUNValue", "UN"),
]


@pytest.mark.parametrize(("keyword", "vr"), BULK)
def test_bulk_data_cannot_be_a_return_key(keyword: str, vr: str) -> None:
    expected = (
        f"additional_attributes: {keyword!r} is bulk data (VR {vr}) and cannot be a query key; "
        "ask for header attributes such as Rows or BitsAllocated"
    )
    with pytest.raises(InvalidQuery) as caught:
        return_keys(Level.INSTANCE, None, ["Rows", keyword], None)
    assert str(caught.value) == expected


@pytest.mark.parametrize(
    "keyword", ["ReferencedSeriesSequence", "IconImageSequence", "ProcedureCodeSequence"]
)
def test_sequences_cannot_be_return_keys(keyword: str) -> None:
    with pytest.raises(InvalidQuery, match=rf"^additional_attributes: '{keyword}' is a sequence \(VR SQ\)"):
        return_keys(Level.STUDY, None, [keyword], None)


@pytest.mark.parametrize(
    "keyword", ["OverlayData", "OverlayRows", "CurveData", "SourceImageIDs", "AudioSampleData"]
)
def test_repeating_group_attributes_are_named_as_such(keyword: str) -> None:
    with pytest.raises(
        InvalidQuery, match=rf"^additional_attributes: '{keyword}' belongs to a repeating group"
    ):
        return_keys(Level.INSTANCE, None, [keyword], None)


@pytest.mark.parametrize("keyword", ["Item", "ItemDelimitationItem", "SequenceDelimitationItem"])
def test_item_tags_are_not_attributes(keyword: str) -> None:
    with pytest.raises(InvalidQuery, match="marks sequence items"):
        return_keys(Level.INSTANCE, None, [keyword], None)


@pytest.mark.parametrize("keyword", ["PerimeterValue", "GrayLookupTableDescriptor"])
def test_keywords_pydicom_cannot_encode_are_refused(keyword: str) -> None:
    with pytest.raises(InvalidQuery, match=r"cannot be encoded in a query identifier \(VR US or SS"):
        return_keys(Level.INSTANCE, None, [keyword], None)


@pytest.mark.parametrize("keyword", ["Rows", "BitsAllocated", "SmallestImagePixelValue", "InstitutionName"])
def test_header_attributes_remain_return_keys(keyword: str) -> None:
    assert keyword in return_keys(Level.INSTANCE, None, [keyword], None)


def test_bulk_data_may_still_be_named_in_exclusions() -> None:
    assert "PixelData" not in return_keys(Level.INSTANCE, None, None, ["PixelData"])


@pytest.mark.parametrize("level", list(Level))
def test_every_preset_attribute_is_a_valid_return_key(level: Level) -> None:
    for preset in ("minimal", "standard", "extended"):
        keys = return_keys(level, preset, None, None)
        assert return_keys(level, "minimal", keys, None)  # each passes the additional_attributes checks


@pytest.mark.parametrize("syntax", [ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian])
def test_every_keyword_accepted_as_a_return_key_can_be_encoded(syntax: UID) -> None:
    for keyword in sorted(kw for _, _, _, _, kw in DicomDictionary.values() if kw):
        try:
            keys = return_keys(Level.INSTANCE, "minimal", [keyword], None)
        except InvalidQuery:
            continue
        assert encode_query(Query(Level.INSTANCE, (), keys), syntax), keyword
