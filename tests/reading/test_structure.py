"""A dataset's sequence items and nesting, counted from its element headers before pydicom parses it."""

from __future__ import annotations

import struct

import pytest
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence

from dicom_mcp.model.validation import written
from dicom_mcp.reading.structure import MAX_DEPTH, MAX_ITEMS, TooComplex, check_shape
from tests.reading.datasets import ct_dataset

ITEM, ITEM_END, SEQUENCE_END = b"\xfe\xff\x00\xe0", b"\xfe\xff\x0d\xe0", b"\xfe\xff\xdd\xe0"
UNDEFINED = b"\xff\xff\xff\xff"


def nested(depth: int) -> Dataset:
    ds = Dataset()
    inner = ds
    for _ in range(depth):
        item = Dataset()
        item.CodeMeaning = "x"
        inner.ContentSequence = Sequence([item])
        inner = item
    return ds


def wide_sequence(items: int, *, implicit: bool) -> bytes:
    """ContentSequence (0040,A730) of `items` undefined-length items, each one short text element."""
    text = (
        b"\x40\x00\x60\xa1"
        + (struct.pack("<L", 2) if implicit else b"UT\x00\x00" + struct.pack("<L", 2))
        + b"ab"
    )
    item = ITEM + UNDEFINED + text + ITEM_END + b"\x00\x00\x00\x00"
    head = b"\x40\x00\x30\xa7" + (UNDEFINED if implicit else b"SQ\x00\x00" + UNDEFINED)
    return head + item * items + SEQUENCE_END + b"\x00\x00\x00\x00"


@pytest.mark.parametrize("implicit", [False, True])
def test_an_ordinary_instance_passes(implicit: bool) -> None:
    data = written(ct_dataset(), implicit_vr=implicit, little_endian=True)
    check_shape(data, implicit_vr=implicit, little_endian=True)


@pytest.mark.parametrize("implicit", [False, True])
def test_more_items_than_the_bound_are_refused_before_parsing(implicit: bool) -> None:
    check_shape(wide_sequence(1000, implicit=implicit), implicit_vr=implicit, little_endian=True)
    with pytest.raises(TooComplex, match=f"too many sequence items \\(more than {MAX_ITEMS}\\)"):
        check_shape(wide_sequence(MAX_ITEMS + 1, implicit=implicit), implicit_vr=implicit, little_endian=True)


@pytest.mark.parametrize("implicit", [False, True])
def test_nesting_deeper_than_the_bound_is_refused(implicit: bool) -> None:
    check_shape(
        written(nested(MAX_DEPTH), implicit_vr=implicit, little_endian=True),
        implicit_vr=implicit,
        little_endian=True,
    )
    deep = written(nested(MAX_DEPTH + 1), implicit_vr=implicit, little_endian=True)
    with pytest.raises(TooComplex, match=f"too deeply \\(more than {MAX_DEPTH} levels\\)"):
        check_shape(deep, implicit_vr=implicit, little_endian=True)


def test_fragments_of_encapsulated_pixel_data_are_not_counted_as_items() -> None:
    ds = Dataset()
    ds.Rows = 1
    ds.PixelData = encapsulate([b"\x00\x01"] * (MAX_ITEMS // 100))
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    data = written(ds, implicit_vr=False, little_endian=True)
    check_shape(data + wide_sequence(10, implicit=False), implicit_vr=False, little_endian=True)


def test_a_truncated_dataset_is_left_for_the_parser() -> None:
    check_shape(wide_sequence(10, implicit=False)[:-30], implicit_vr=False, little_endian=True)
