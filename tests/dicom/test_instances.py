"""Instances as bytes: Part 10 files split at their file meta, deflated datasets inflated within a budget."""

from __future__ import annotations

import zlib
from io import BytesIO

import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import DeflatedExplicitVRLittleEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from dicom_mcp.errors import RetrieveTooLarge
from dicom_mcp.model.instances import Malformed, from_file, inflate, received
from dicom_mcp.pacs.budget import Budget
from dicom_mcp.sandbox.jobs import parsed


def _file(syntax: str) -> bytes:
    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = "1.2.840.10008.5.1.4.1.1.2", "1.2.3.4"
    ds.PatientName = "Test^Split"
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = syntax
    out = BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


@pytest.mark.parametrize(
    "syntax", [ExplicitVRLittleEndian, ImplicitVRLittleEndian, DeflatedExplicitVRLittleEndian]
)
def test_a_part_10_file_splits_into_its_syntax_and_dataset(syntax: str) -> None:
    budget = Budget(10**6)
    instance = from_file(_file(syntax), budget.take)
    expected = ExplicitVRLittleEndian if syntax == DeflatedExplicitVRLittleEndian else syntax
    assert instance.syntax == expected
    ds = parsed(instance.data, instance.syntax)
    assert (ds.SOPInstanceUID, str(ds.PatientName)) == ("1.2.3.4", "Test^Split")


def test_a_deflated_dataset_counts_what_it_inflates_to() -> None:
    budget = Budget(10**6)
    instance = from_file(_file(DeflatedExplicitVRLittleEndian), budget.take)
    assert budget.held == len(instance.data) > 0


def test_an_inflation_bomb_stops_at_the_budget_without_inflating_the_rest() -> None:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    zeros = b"\x00" * 2**20
    bomb = b"".join(compressor.compress(zeros) for _ in range(256)) + compressor.flush()  # 256 MiB
    budget = Budget(8 * 2**20)
    with pytest.raises(RetrieveTooLarge, match="passed the cap of 8388608 bytes"):
        received(bomb, DeflatedExplicitVRLittleEndian, budget.take)
    assert budget.held <= 8 * 2**20


def test_a_damaged_deflated_stream_is_malformed() -> None:
    with pytest.raises(Malformed, match="damaged"):
        inflate(b"\xff\xff\xff\xff not deflate", Budget(10**6).take)


def test_a_file_without_preamble_or_meta_is_left_for_the_parser_to_guess() -> None:
    instance = from_file(b"\x08\x00\x16\x00some dataset", Budget(100).take)
    assert instance.syntax == ""


def test_a_file_meta_group_that_runs_past_the_file_is_malformed() -> None:
    data = bytearray(_file(ExplicitVRLittleEndian))
    data[132 + 8 : 132 + 12] = (2**31).to_bytes(4, "little")  # (0002,0000) UL's value... as a length
    data[132 + 4 : 132 + 6] = b"OB"
    with pytest.raises(Malformed):
        from_file(bytes(data), Budget(10**6).take)
