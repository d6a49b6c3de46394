"""An instance's header: JSON-safe attributes by keyword, bulk data summarised, bounded."""

import json
import struct
from io import BytesIO

from pydicom.dataset import Dataset
from pydicom.filereader import read_dataset
from pydicom.sequence import Sequence

from dicom_mcp.reading.header import header
from tests.reading.datasets import ct_dataset, encoded


def test_header_names_the_instance_its_sop_class_and_transfer_syntax() -> None:
    result = header(encoded(ct_dataset()))
    assert result["sop_instance_uid"] == "1.2.826.0.1.3680043.8.498.1001"
    assert result["sop_class_uid"] == "1.2.840.10008.5.1.4.1.1.2"
    assert result["sop_class"] == "CT Image Storage"
    assert result["transfer_syntax"] == "Explicit VR Little Endian"
    assert result["truncated"] is False


def test_transfer_syntax_is_null_without_file_meta() -> None:
    assert header(ct_dataset())["transfer_syntax"] is None


def test_file_meta_is_not_among_the_attributes() -> None:
    attributes = header(encoded(ct_dataset()))["attributes"]
    assert "TransferSyntaxUID" not in attributes
    assert "MediaStorageSOPInstanceUID" not in attributes


def test_pixel_data_is_a_bulk_data_note() -> None:
    attributes = header(encoded(ct_dataset()))["attributes"]
    assert attributes["PixelData"] == {"bulk_data": True, "vr": "OW", "bytes": 524288}


def test_values_follow_the_query_conventions() -> None:
    attributes = header(encoded(ct_dataset()))["attributes"]
    assert attributes["PatientName"] == "Doe^Jane"
    assert attributes["ImageType"] == ["ORIGINAL", "PRIMARY", "AXIAL"]
    assert attributes["SliceThickness"] == 1.25
    assert attributes["InstanceNumber"] == 42
    assert attributes["PixelSpacing"] == [0.703125, 0.703125]
    assert attributes["WindowCenter"] == [40.0, -600.0]
    assert attributes["Rows"] == 512
    assert attributes["PositionReferenceIndicator"] is None


def test_sequences_are_lists_of_objects() -> None:
    attributes = header(encoded(ct_dataset()))["attributes"]
    assert attributes["ProcedureCodeSequence"] == [
        {
            "CodeValue": "RPID16",
            "CodingSchemeDesignator": "RADLEX",
            "CodeMeaning": "CT CHEST WITHOUT IV CONTRAST",
        }
    ]
    assert attributes["ReferencedImageSequence"][2] == {
        "ReferencedSOPClassUID": "1.2.840.10008.5.1.4.1.1.2",
        "ReferencedSOPInstanceUID": "1.2.826.0.1.3680043.8.498.2003",
    }


def test_private_elements_are_keyed_by_tag_with_vr_and_value() -> None:
    attributes = header(encoded(ct_dataset()))["attributes"]
    assert attributes["(0019,0010)"] == {"vr": "LO", "value": "SIEMENS CT VA0  COAD"}
    assert attributes["(0029,1008)"] == {"vr": "CS", "value": "IMAGE NUM 4"}
    assert attributes["(0019,1092)"] == {"vr": "DS", "value": 2.0}


def test_binary_private_element_shows_only_its_size() -> None:
    attributes = header(encoded(ct_dataset()))["attributes"]
    assert attributes["(0029,1010)"] == {"vr": "OB", "value": None, "bytes": 12032}


def test_private_bytes_under_implicit_vr_are_shown_only_when_printable() -> None:
    ds = Dataset()
    block = ds.private_block(0x0011, "ACME 1.0", create=True)
    block.add_new(0x01, "LO", "Protocol A")
    block.add_new(0x02, "OB", b"\x01\x02\xff\x00")
    attributes = header(encoded(ds, implicit_vr=True))["attributes"]
    assert attributes["(0011,0010)"] == {"vr": "LO", "value": "ACME 1.0"}
    assert attributes["(0011,1001)"] == {"vr": "UN", "value": "Protocol A"}
    assert attributes["(0011,1002)"] == {"vr": "UN", "value": None, "bytes": 4}


def test_latin1_name_is_decoded() -> None:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.PatientName = "Müller^Jürgen"
    received = encoded(ds)
    assert received.get_item(0x00100010).value.startswith(b"M\xfcller^J\xfcrgen")
    assert header(received)["attributes"]["PatientName"] == "Müller^Jürgen"


def test_utf8_name_is_decoded() -> None:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = "Łukasz^Dvořák=山田^太郎"
    ds.ReferencedPatientSequence = [Dataset()]
    ds.ReferencedPatientSequence[0].PatientName = "Gómez^Ana"
    received = encoded(ds)
    assert received.get_item(0x00100010).value.startswith(b"\xc5\x81ukasz")
    attributes = header(received)["attributes"]
    assert attributes["PatientName"] == "Łukasz^Dvořák=山田^太郎"
    assert attributes["ReferencedPatientSequence"] == [{"PatientName": "Gómez^Ana"}]


def test_overlay_waveform_and_document_data_are_bulk() -> None:
    ds = Dataset()
    ds.add_new(0x60003000, "OW", bytes(8192))
    ds.add_new(0x60023000, "OW", bytes(128))
    ds.EncapsulatedDocument = b"%PDF-1.4 " * 10
    waveform = Dataset()
    waveform.WaveformBitsAllocated = 16
    waveform.WaveformData = bytes(64)
    ds.WaveformSequence = [waveform]
    attributes = header(encoded(ds))["attributes"]
    assert attributes["OverlayData"] == {"bulk_data": True, "vr": "OW", "bytes": 8192}
    assert attributes["(6002,3000)"] == {"bulk_data": True, "vr": "OW", "bytes": 128}
    assert attributes["EncapsulatedDocument"] == {"bulk_data": True, "vr": "OB", "bytes": 90}
    assert attributes["WaveformSequence"] == [
        {"WaveformBitsAllocated": 16, "WaveformData": {"bulk_data": True, "vr": "OW", "bytes": 64}}
    ]


def test_float_pixel_data_is_bulk() -> None:
    ds = Dataset()
    ds.FloatPixelData = bytes(400)
    assert header(encoded(ds))["attributes"]["FloatPixelData"] == {
        "bulk_data": True,
        "vr": "OF",
        "bytes": 400,
    }


def test_text_longer_than_4_kib_is_bulk() -> None:
    ds = Dataset()
    ds.ImageComments = "x" * 5000
    ds.StudyComments = "y" * 4096
    attributes = header(encoded(ds))["attributes"]
    assert attributes["ImageComments"] == {"bulk_data": True, "vr": "LT", "bytes": 5000}
    assert attributes["StudyComments"] == "y" * 4096


def test_attribute_tags_are_shown_as_tags() -> None:
    ds = Dataset()
    ds.FrameIncrementPointer = 0x00181063
    assert header(encoded(ds))["attributes"]["FrameIncrementPointer"] == "(0018,1063)"


def test_not_a_number_is_a_string() -> None:
    ds = Dataset()
    ds.add_new(0x00189327, "FD", float("nan"))  # Table Position
    assert header(ds)["attributes"]["TablePosition"] == "nan"


def test_deep_sequences_are_cut_with_their_item_count() -> None:
    ds = innermost = Dataset()
    for _ in range(10):
        child = Dataset()
        innermost.ContentSequence = [child]
        innermost = child
    innermost.TextValue = "deep"
    result = header(ds)
    level = result["attributes"]
    for _ in range(6):
        level = level["ContentSequence"][0]
    assert level == {"ContentSequence": {"sequence_items": 1}}
    assert result["truncated"] is True


def test_long_sequences_show_their_first_items_and_a_count() -> None:
    ds = Dataset()
    ds.ReferencedImageSequence = Sequence([Dataset() for _ in range(100)])
    for number, item in enumerate(ds.ReferencedImageSequence):
        item.ReferencedFrameNumber = number + 1
    result = header(ds)
    items = result["attributes"]["ReferencedImageSequence"]
    assert len(items) == 65
    assert items[63] == {"ReferencedFrameNumber": 64}
    assert items[64] == {"more_items": 36}
    assert result["truncated"] is True


def test_many_elements_are_capped() -> None:
    ds = Dataset()
    ds.ContentSequence = Sequence([Dataset() for _ in range(60)])
    for item in ds.ContentSequence:
        for number in range(100):
            item.add_new(0x00990000 | 0x1000 | number, "LO", f"v{number}")
        item.add_new(0x00990010, "LO", "ACME")
    result = header(ds)
    shown = sum(len(item) for item in result["attributes"]["ContentSequence"])
    assert shown < 5000
    assert result["truncated"] is True


def test_known_sequence_sent_as_un_is_read_as_a_sequence() -> None:
    # (0008,1140) Referenced Image Sequence, explicit VR "UN", undefined length: one item with
    # (0008,1155) Referenced SOP Instance UID "1.2.3" (implicit VR inside, as UN requires).
    item = struct.pack("<HHI", 0x0008, 0x1155, 6) + b"1.2.3\x00"
    data = struct.pack("<HH2sHI", 0x0008, 0x1140, b"UN", 0, 0xFFFFFFFF)
    data += struct.pack("<HHI", 0xFFFE, 0xE000, len(item)) + item + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    ds = read_dataset(BytesIO(data), is_implicit_VR=False, is_little_endian=True)
    assert header(ds)["attributes"] == {"ReferencedImageSequence": [{"ReferencedSOPInstanceUID": "1.2.3"}]}


def test_malformed_element_is_noted_and_the_rest_shown() -> None:
    # Explicit VR little endian: a good Modality, then Rows (US) with 3 bytes, which no US value fits.
    data = struct.pack("<HH2sH", 0x0008, 0x0060, b"CS", 2) + b"CT"
    data += struct.pack("<HH2sH", 0x0028, 0x0010, b"US", 3) + b"\x00\x02\x00"
    ds = read_dataset(BytesIO(data), is_implicit_VR=False, is_little_endian=True)
    assert header(ds)["attributes"] == {
        "Modality": "CT",
        "Rows": {"unreadable": True, "vr": "US", "bytes": 3},
    }


def test_ct_header_serializes_well_under_30_kb() -> None:
    text = json.dumps(header(encoded(ct_dataset())))
    assert len(text.encode()) < 10_000
