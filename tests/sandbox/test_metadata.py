"""An instance's WADO-RS metadata (DICOM JSON) read as a dataset: the header code's input, bounded."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dicom_mcp.reading.header import header
from dicom_mcp.reading.structure import MAX_DEPTH, MAX_ITEMS, TooComplex
from dicom_mcp.sandbox.metadata import NotMetadata, from_metadata
from tests.reading.datasets import ct_dataset

URI = "http://archive.example/dicom-web/studies/1/series/2/instances/3/bulk/7fe00010"


def metadata_of(**extra: Any) -> dict[str, Any]:
    """The CT's metadata as an archive gives it: pixel data by reference, plus `extra` elements."""
    ds = ct_dataset()
    del ds.PixelData
    document = ds.to_json_dict()
    document["7FE00010"] = {"vr": "OW", "BulkDataURI": URI}
    document.update(extra)
    return document


def test_metadata_gives_the_header_a_whole_instance_would() -> None:
    ct = ct_dataset()
    ds = from_metadata(json.dumps([metadata_of()]).encode())
    made = header(ds)
    whole = header(ct)
    assert made["attributes"]["PixelData"] == {"bulk_data": True, "vr": "OW", "bytes": 0}
    del made["attributes"]["PixelData"], whole["attributes"]["PixelData"]  # type: ignore[union-attr]
    assert made["attributes"] == whole["attributes"]
    assert made["transfer_syntax"] is None


def test_a_file_meta_group_in_the_metadata_names_the_transfer_syntax() -> None:
    document = metadata_of(**{"00020010": {"vr": "UI", "Value": ["1.2.840.10008.1.2.1"]}})
    made = header(from_metadata(json.dumps([document]).encode()))
    assert made["transfer_syntax"] == "Explicit VR Little Endian"
    assert "TransferSyntaxUID" not in made["attributes"]  # type: ignore[operator]


@pytest.mark.parametrize("body", [b"not json", b"[]", b"[{}, {}]", b'"text"', b"\xff\xfe"])
def test_what_is_not_one_instances_metadata_is_refused(body: bytes) -> None:
    with pytest.raises(NotMetadata):
        from_metadata(body)


def test_too_many_sequence_items_are_refused_before_pydicom_reads_them() -> None:
    item = {"00080100": {"vr": "SH", "Value": ["x"]}}
    document = metadata_of(**{"0040A730": {"vr": "SQ", "Value": [item] * (MAX_ITEMS + 1)}})
    with pytest.raises(TooComplex, match="too many sequence items"):
        from_metadata(json.dumps([document]).encode())


def test_sequences_nested_too_deeply_are_refused() -> None:
    inner: dict[str, Any] = {"00080100": {"vr": "SH", "Value": ["x"]}}
    for _ in range(MAX_DEPTH + 1):
        inner = {"0040A730": {"vr": "SQ", "Value": [inner]}}
    with pytest.raises(TooComplex, match="too deeply"):
        from_metadata(json.dumps([metadata_of(**inner)]).encode())
