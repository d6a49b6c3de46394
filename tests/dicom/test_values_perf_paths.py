"""Shaping straight from raw bytes gives exactly what pydicom's conversion gives.

Correctness only; bench/ measures the speed.
"""

from __future__ import annotations

import struct
import warnings
from io import BytesIO

import pytest
from pydicom.datadict import tag_for_keyword
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pynetdicom.dsutils import decode

from dicom_mcp.dimse.client import ClientConfig, DicomClient
from dicom_mcp.dimse.shaper import shaper_for
from dicom_mcp.model.levels import Level
from dicom_mcp.model.queries import build_query
from dicom_mcp.model.target import Target
from dicom_mcp.model.values import JsonValue, shape_identifier
from testbeds.pacs import RunningPacs, c_find

pytestmark = pytest.mark.anyio


def _element(keyword: str, vr: str, value: bytes) -> bytes:
    """One explicit VR little endian element."""
    tag = tag_for_keyword(keyword)
    assert tag is not None
    head = struct.pack("<HH", tag >> 16, tag & 0xFFFF) + vr.encode()
    if vr in ("OB", "OW", "OF", "OD", "OL", "OV", "SQ", "UC", "UR", "UT", "UN"):
        return head + struct.pack("<HI", 0, len(value)) + value
    return head + struct.pack("<H", len(value)) + value


def _identifier(charset: bytes | None, *elements: bytes) -> bytes:
    parts = ([_element("SpecificCharacterSet", "CS", charset)] if charset is not None else []) + list(
        elements
    )
    return b"".join(sorted(parts))  # ascending tags, as on the wire


def _both(
    encoded: bytes, keywords: tuple[str, ...]
) -> tuple[Dataset, dict[str, JsonValue], dict[str, JsonValue]]:
    """The fast result on one decoding and pydicom's on another (it converts in place, warning as it likes)."""
    fast_ds = decode(BytesIO(encoded), False, True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # values left to pydicom warn there as they did before
        fast = shaper_for(keywords)(fast_ds)
        assert shaper_for(keywords).from_bytes(encoded, False) == fast
        reference = shape_identifier(decode(BytesIO(encoded), False, True), keywords)
    return fast_ds, fast, reference


RAW_CASES = [
    ("StudyInstanceUID", "UI", [b"1.2.3\x00", b"1.2.3\\4.5.6", b"1.2 ", b"\x00"]),
    ("StudyDate", "DA", [b"20230101", b"20230101-20231231", b"  ", b"20230101\\20230102"]),
    ("StudyTime", "TM", [b"101010.5 ", b"0930"]),
    ("AcquisitionDateTime", "DT", [b"20230101101010 "]),
    ("ModalitiesInStudy", "CS", [b"CT\\MR", b"CT\\\\MR ", b" CT ", b"\\"]),
    ("RetrieveAETitle", "AE", [b" ORTHANC  ", b"A\\ B ", b"ORTHANC\x00"]),
    ("PatientAge", "AS", [b"045Y"]),
    (
        "NumberOfStudyRelatedInstances",
        "IS",
        [b"12", b" 12 ", b"+12", b"-3\\4", b"1\\\\2", b"abc", b"12.0", b"0 "],
    ),
    ("PatientWeight", "DS", [b"71.5", b" 1.50 ", b"1e3 ", b"1.5\\2.5", b"abc", b".5", b"5.", b"-0.0\\+2"]),
    (
        "PatientName",
        "PN",
        [b"SMITH^JOHN", b"SMITH^JOHN^^^ ", b"A=B=C", b"A\\B ", b"M\xc3\xbcller^J", b"M\xfcller"],
    ),
    ("PatientName", "PN", [b"\x1b$BGRCO\x1b(B^\x1b$BB@O:\x1b(B", b"\xff\xfe^broken"]),
    ("StudyDescription", "LO", [b" leading\\trailing  ", b"x\x00", b"CHEST CT", b"caf\xc3\xa9", b"caf\xe9 "]),
    ("AccessionNumber", "SH", [b"ACC1 ", b"A\\B"]),
    ("LongCodeValue", "UC", [b"a\\b  "]),
    ("InstitutionAddress", "ST", [b"1 Main St\\Suite 2  "]),
    ("AdditionalPatientHistory", "LT", [b"line one\r\nline two \x00"]),
    ("TextValue", "UT", [b"text \\ more  "]),
    ("URNCodeValue", "UR", [b"urn:x:y  "]),
    ("Rows", "US", [b"\x00\x02"]),
    ("EncapsulatedDocument", "OB", [b"%PDF"]),
    ("PatientID", "UN", [b"PAT001"]),
]
CHARSETS = [None, b"ISO_IR 100", b"ISO_IR 192", b"ISO_IR 6", b"", b"\\ISO 2022 IR 87", b"ISO_IR 144"]


@pytest.mark.parametrize("charset", CHARSETS, ids=repr)
@pytest.mark.parametrize(
    ("keyword", "vr", "values"), RAW_CASES, ids=lambda c: c if isinstance(c, str) else ""
)
def test_raw_shaping_equals_pydicom(
    charset: bytes | None, keyword: str, vr: str, values: list[bytes]
) -> None:
    keywords = (keyword, "PatientID", "SeriesDescription")  # plus absent ones
    for value in values:
        _, fast, reference = _both(_identifier(charset, _element(keyword, vr, value)), keywords)
        assert fast == reference, (charset, value)


def test_common_values_skip_pydicom_conversion() -> None:
    keywords = (
        "StudyInstanceUID",
        "StudyDate",
        "ModalitiesInStudy",
        "PatientName",
        "PatientID",
        "PatientWeight",
    )
    encoded = _identifier(
        b"ISO_IR 192",
        _element("StudyInstanceUID", "UI", b"1.2.3\x00"),
        _element("StudyDate", "DA", b"20230101"),
        _element("ModalitiesInStudy", "CS", b"CT\\MR "),
        _element("PatientName", "PN", "Müller^Jürgen".encode()),
        _element("PatientID", "LO", b"PAT004"),
        _element("PatientWeight", "DS", b"71.5"),
    )
    dataset, fast, reference = _both(encoded, keywords)
    assert fast == reference
    assert fast["PatientName"] == "Müller^Jürgen" and fast["ModalitiesInStudy"] == ["CT", "MR"]
    assert all(isinstance(dataset.get_item(tag_for_keyword(k) or 0), RawDataElement) for k in keywords)


def test_sequences_and_implicit_vr_match_pydicom() -> None:
    item = Dataset()
    item.ReferencedSOPInstanceUID = "1.2.3"
    ds = Dataset()
    ds.PatientName = "SMITH^JOHN"
    ds.NumberOfStudyRelatedInstances = "7"
    ds.ReferencedStudySequence = [item]
    keywords = ("PatientName", "NumberOfStudyRelatedInstances", "ReferencedStudySequence")
    for implicit in (True, False):
        buffer = BytesIO()
        ds.save_as(buffer, implicit_vr=implicit, little_endian=True)
        encoded = buffer.getvalue()
        fast = shaper_for(keywords)(decode(BytesIO(encoded), implicit, True))
        assert fast == shape_identifier(decode(BytesIO(encoded), implicit, True), keywords)
        assert shaper_for(keywords).from_bytes(encoded, implicit) == fast


@pytest.mark.pacs
@pytest.mark.parametrize("lifetime", [0, 0.5])
@pytest.mark.parametrize("which", ["orthanc", "dcmqrscp"])
async def test_every_real_pacs_answer_is_what_pynetdicom_and_pydicom_give(
    which: str, lifetime: float, request: pytest.FixtureRequest
) -> None:
    """The client's whole path (associations, raw parsing, shaping) against the reference one."""
    pacs: RunningPacs = request.getfixturevalue(which)
    client = DicomClient(ClientConfig("MCPSCU", association_lifetime=lifetime))
    target = Target(pacs.host, pacs.port, pacs.ae_title)
    compared = 0
    for level in Level:
        query = build_query(level, {}, "extended", ["SpecificCharacterSet", "OtherPatientNames"], None)
        status, matches = c_find(pacs.port, pacs.ae_title, query.identifier(), query.model)
        assert status == 0x0000
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            shaped = [shaper_for(query.return_keys)(match) for match in matches]  # before pydicom converts
            reference = [shape_identifier(match, query.return_keys) for match in matches]
        assert shaped == reference
        found = await client.find(target, query, 5000)
        assert sorted(map(repr, found.matches)) == sorted(map(repr, reference))
        compared += len(reference)
    assert compared > 1000


def test_malformed_values_from_a_pacs_raise_no_warning_that_would_quote_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # pydicom warns, and logs, "Invalid value for VR DA: '1999-01-01'": patient data in an ordinary
    # log. The client switches its read-side checks off (configure_pynetdicom, run at start-up).
    encoded = _identifier(
        b"\\ISO 2022 IR 87",  # left to pydicom: the fast path does not decode ISO 2022
        _element("PatientName", "PN", b"Yamada^Tarou=" + b"X" * 80),
        _element("PatientBirthDate", "DA", b"1999-01-01"),
        _element("StudyInstanceUID", "UI", b"1.2.abc\x00"),
    )
    keywords = ("PatientName", "PatientBirthDate", "StudyInstanceUID")
    with warnings.catch_warnings(record=True) as caught, caplog.at_level("DEBUG"):
        warnings.simplefilter("always")
        shaped = shaper_for(keywords).from_bytes(encoded, False)
        decoded = shape_identifier(decode(BytesIO(encoded), False, True, False), keywords)
    assert shaped == decoded
    assert shaped["PatientBirthDate"] == "1999-01-01"
    assert [str(w.message) for w in caught] == []
    assert "1999-01-01" not in caplog.text
