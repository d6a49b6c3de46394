"""Where a dataset's top-level pixel data begins, found from its element headers as its bytes arrive."""

from __future__ import annotations

import random

import pytest
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence

from dicom_mcp.model.pixelstart import PixelStart
from dicom_mcp.model.validation import written
from tests.reading.datasets import ct_dataset

SYNTAXES = {  # name: (implicit VR, little endian)
    "explicit little": (False, True),
    "implicit little": (True, True),
    "explicit big": (False, False),
}


def with_icon(ds: Dataset, *, encapsulated: bool) -> Dataset:
    """`ds` with an Icon Image Sequence whose item holds pixel data of its own (a nested 7FE0,0010)."""
    icon = Dataset()
    icon.Rows = icon.Columns = 4
    icon.BitsAllocated = icon.BitsStored = 8
    icon.SamplesPerPixel, icon.PhotometricInterpretation = 1, "MONOCHROME2"
    icon.PixelData = encapsulate([bytes(16), bytes(16)]) if encapsulated else bytes(16)
    if encapsulated:
        icon["PixelData"].VR = "OB"
        icon["PixelData"].is_undefined_length = True
    ds.IconImageSequence = Sequence([icon])
    return ds


def fed(start: PixelStart, data: bytes, seed: int) -> int | None:
    """Feed `data` in random slices, as fragments come; the offset found, if any."""
    chances = random.Random(seed)
    end = 0
    while end < len(data):
        end = min(len(data), end + chances.randint(1, 700))
        found = start.advance(memoryview(data)[:end])
        if found is not None:
            return found.offset
    return None


# Encapsulated pixel data exists in explicit VR little endian only (PS3.5 A.4).
CASES = [(syntax, icon) for syntax in SYNTAXES for icon in ("none", "native")] + [
    ("explicit little", "encapsulated")
]


@pytest.mark.parametrize(("syntax", "icon"), CASES)
def test_the_bytes_before_the_pixel_data_are_the_header(syntax: str, icon: str) -> None:
    implicit, little = SYNTAXES[syntax]
    ds = ct_dataset()
    if icon != "none":
        with_icon(ds, encapsulated=icon == "encapsulated")
    header = Dataset({element.tag: element for element in ds if element.tag != 0x7FE00010})
    expected = written(header, implicit_vr=implicit, little_endian=little)
    whole = written(ds, implicit_vr=implicit, little_endian=little)
    for seed in range(5):
        start = PixelStart(implicit_vr=implicit, little_endian=little)
        assert fed(start, whole, seed) == len(expected)
        assert start.found is not None
        assert start.found.keyword == "PixelData"
        assert start.found.length == len(ds.PixelData)
        assert start.found.vr == (None if implicit else "OW")
        assert start.found.end == len(whole)


def test_encapsulated_pixel_data_has_no_declared_length() -> None:
    ds = ct_dataset()
    ds.PixelData = encapsulate([bytes(100), bytes(100)])
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    whole = written(ds, implicit_vr=False, little_endian=True)
    start = PixelStart(implicit_vr=False, little_endian=True)
    found = start.advance(whole)
    assert found is not None and (found.vr, found.length, found.end) == ("OB", None, None)


@pytest.mark.parametrize("syntax", SYNTAXES)
def test_sequences_and_items_of_undefined_length_are_stepped_through(syntax: str) -> None:
    implicit, little = SYNTAXES[syntax]
    ds = with_icon(ct_dataset(), encapsulated=False)
    for element in ds.iterall():
        if element.VR == "SQ":
            element.is_undefined_length = True
            for item in element.value:
                item.is_undefined_length_sequence_item = True
    whole = written(ds, implicit_vr=implicit, little_endian=little)
    assert b"\xdd\xe0" in whole or b"\xe0\xdd" in whole  # sequence delimiters were written
    for seed in range(3):
        start = PixelStart(implicit_vr=implicit, little_endian=little)
        assert fed(start, whole, seed) == len(whole) - len(ds.PixelData) - (8 if implicit else 12)


@pytest.mark.parametrize("keyword", ["FloatPixelData", "DoubleFloatPixelData"])
def test_float_pixel_data_is_pixel_data_too(keyword: str) -> None:
    ds = ct_dataset()
    del ds.PixelData
    setattr(ds, keyword, bytes(64))
    whole = written(ds, implicit_vr=False, little_endian=True)
    found = PixelStart(implicit_vr=False, little_endian=True).advance(whole)
    assert found is not None and (found.keyword, found.length, found.offset) == (keyword, 64, len(whole) - 76)


def test_a_dataset_without_pixel_data_gives_no_answer() -> None:
    ds = ct_dataset()
    del ds.PixelData
    whole = written(ds, implicit_vr=False, little_endian=True)
    start = PixelStart(implicit_vr=False, little_endian=True)
    assert start.advance(whole) is None
    assert not start.lost and start.position == len(whole)


def test_what_it_cannot_follow_ends_the_walk() -> None:
    ds = ct_dataset()
    whole = written(ds, implicit_vr=False, little_endian=True)
    # A stray sequence delimiter at the top level: not a dataset.
    start = PixelStart(implicit_vr=False, little_endian=True)
    assert start.advance(b"\xfe\xff\xdd\xe0\x00\x00\x00\x00" + whole) is None
    assert start.lost and start.done
    # An explicit UN of undefined length (a sequence in implicit VR inside): not followed.
    un = b"\x09\x00\x10\x10UN\x00\x00\xff\xff\xff\xff"
    start = PixelStart(implicit_vr=False, little_endian=True)
    assert start.advance(un + whole) is None and start.lost


def test_nesting_past_the_bound_ends_the_walk() -> None:
    ds = Dataset()
    inner = ds
    for _ in range(40):
        item = Dataset()
        inner.ContentSequence = Sequence([item])
        inner = item
    ds.add_new(0x7FE00010, "OW", bytes(4))
    start = PixelStart(implicit_vr=False, little_endian=True)
    assert start.advance(written(ds, implicit_vr=False, little_endian=True)) is None and start.lost
