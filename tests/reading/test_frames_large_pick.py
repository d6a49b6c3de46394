"""Frames kept from a streaming instance (model/framepick.py), and read back (reading/sparse.py).

Generated multi-frame instances (native, RLE with and without an offset table) are walked to
their pixel data and fed to the picker in pieces of every size; the frames kept render pixel
for pixel as the whole instance's do. Hostile streams (absurd lengths, an offset table pointing
outside, fragments that never end, more frames than declared) end in `Unpickable` or `PastRoom`,
having kept no more than the room.
"""

from __future__ import annotations

import struct
from io import BytesIO

import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate, generate_frames
from pydicom.filebase import DicomBytesIO
from pydicom.filereader import read_dataset
from pydicom.filewriter import write_dataset
from pydicom.pixels import compress
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, RLELossless

from dicom_mcp.errors import NotRenderable
from dicom_mcp.model.framepick import FrameStart, PastRoom, Picker, Unpickable
from dicom_mcp.reading.image import render
from dicom_mcp.reading.sparse import Held, compact

ROWS, COLUMNS, FRAMES = 24, 20, 7


def _dataset(frames: int = FRAMES) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = "1.2.840.10008.5.1.4.1.1.7.3", "1.2.3.4"
    ds.Rows, ds.Columns, ds.NumberOfFrames = ROWS, COLUMNS, frames
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ramp = np.arange(frames * ROWS * COLUMNS, dtype=np.uint16).reshape(frames, ROWS, COLUMNS)
    ds.PixelData = ((ramp * 7 + np.arange(frames)[:, None, None] * 300) % 4096).astype("<u2").tobytes()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return ds


def _encoded(ds: Dataset, syntax: str, offsets: bool = False) -> bytes:
    if syntax == RLELossless:
        ds = compress(_dataset(int(ds.NumberOfFrames)), RLELossless, encoding_plugin="pydicom")
        if offsets:
            ds.PixelData = encapsulate(
                list(generate_frames(ds.PixelData, number_of_frames=FRAMES)), has_bot=True
            )
    fp = DicomBytesIO()
    fp.is_little_endian, fp.is_implicit_VR = True, syntax == ImplicitVRLittleEndian
    write_dataset(fp, ds)
    return fp.getvalue()


def _pick(data: bytes, syntax: str, frames: tuple[int, ...], piece: int, room: int = 10**9) -> bytes:
    """The dataset a frame read keeps of `data` fed `piece` bytes at a time."""
    implicit = syntax == ImplicitVRLittleEndian
    walk = FrameStart(implicit_vr=implicit, little_endian=True)
    fed = 0
    while walk.advance(data[: fed + piece]) is None:
        fed += piece
        assert fed < len(data)
    found = walk.found
    assert found is not None
    picker = Picker(found, walk.geometry(), syntax, frames, room, big=False)
    for start in range(found.offset, len(data), piece):
        picker.feed(data[start : start + piece])
    picked = picker.finish()
    return data[: found.offset] + picked.element


def _read(data: bytes, syntax: str) -> Dataset:
    ds = read_dataset(BytesIO(data), syntax == ImplicitVRLittleEndian, True)
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = syntax
    return ds


@pytest.mark.parametrize(
    ("syntax", "offsets"),
    [
        (ExplicitVRLittleEndian, False),
        (ImplicitVRLittleEndian, False),
        (RLELossless, False),
        (RLELossless, True),
    ],
)
@pytest.mark.parametrize("piece", [1, 7, 4096, 10**7])
def test_the_frames_kept_render_as_the_whole_instance_does(syntax: str, offsets: bool, piece: int) -> None:
    data = _encoded(_dataset(), syntax, offsets)
    whole = _read(data, syntax)
    frames = (1, 4, FRAMES)
    kept = _read(_pick(data, syntax, frames, piece), syntax)
    assert len(kept.PixelData) < len(whole.PixelData)
    held = Held(frames, FRAMES)
    small = compact(kept, held)
    assert kept.NumberOfFrames == FRAMES  # the instance's own is left as it was
    for frame in frames:
        expected = render(whole, frame=frame)
        got = render(small, frame=held.index(frame))
        assert got.png == expected.png
        assert got.summary["number_of_frames"] == len(frames)
    with pytest.raises(NotRenderable, match="was not retrieved"):
        held.index(2)
    with pytest.raises(NotRenderable, match="does not exist"):
        held.index(FRAMES + 1)


def test_the_room_bounds_what_is_kept() -> None:
    data = _encoded(_dataset(), ExplicitVRLittleEndian)
    with pytest.raises(PastRoom):
        _pick(data, ExplicitVRLittleEndian, (1, 2, 3), 4096, room=2 * ROWS * COLUMNS * 2)


def _header_and_pixels(items: list[bytes], frames: int = 3) -> tuple[bytes, str]:
    """An RLE instance's header, then encapsulated pixel data made of `items` (raw item bytes)."""
    ds = _dataset(frames)
    del ds.PixelData
    fp = DicomBytesIO()
    fp.is_little_endian, fp.is_implicit_VR = True, False
    write_dataset(fp, ds)
    element = struct.pack("<HH2sHL", 0x7FE0, 0x0010, b"OB", 0, 0xFFFFFFFF)
    return fp.getvalue() + element + b"".join(items), RLELossless


def _item(value: bytes, length: int | None = None) -> bytes:
    return struct.pack("<HHL", 0xFFFE, 0xE000, len(value) if length is None else length) + value


END = struct.pack("<HHL", 0xFFFE, 0xE0DD, 0)


@pytest.mark.parametrize(
    ("items", "why"),
    [
        # an offset table pointing past the last fragment
        ([_item(struct.pack("<3L", 0, 10, 10**6)), _item(b"a" * 2), _item(b"b" * 2), END], "past its last"),
        # an offset table pointing inside a fragment
        ([_item(struct.pack("<3L", 0, 4, 20)), _item(b"a" * 8), _item(b"b" * 2), END], "inside a fragment"),
        # an offset table larger than the frames need (an absurd length)
        ([_item(b"", 0xFFFFFFF0)], "larger than its frames need"),
        # offsets not in order
        ([_item(struct.pack("<3L", 0, 20, 10)), END], "one offset per frame"),
        # more fragments than frames, no offset table
        ([_item(b""), *[_item(b"xy") for _ in range(5)], END], "more frames than it declares"),
        # fragments that never end (no delimiter before the message ends)
        ([_item(b""), _item(b"ab"), _item(b"cd")], "did not end"),
        # a fragment of undefined length
        ([_item(b""), _item(b"", 0xFFFFFFFF)], "not well formed"),
        # something else than an item
        ([_item(b""), struct.pack("<HHL", 0x0008, 0x0010, 2) + b"ab"], "not well formed"),
    ],
)
def test_a_hostile_stream_is_a_clear_error(items: list[bytes], why: str) -> None:
    data, syntax = _header_and_pixels(items)
    with pytest.raises(Unpickable, match=why):
        _pick(data, syntax, (2,), 3)


def test_a_fragment_larger_than_the_room_is_refused_before_it_is_kept() -> None:
    data, syntax = _header_and_pixels([_item(b""), _item(b"", 0x7FFFFFF0)])
    with pytest.raises(PastRoom):
        _pick(data, syntax, (1,), 64, room=10**6)


def test_native_pixel_data_shorter_than_its_frames_is_refused() -> None:
    ds = _dataset()
    data = _encoded(ds, ExplicitVRLittleEndian)
    found = data.index(struct.pack("<HH2s", 0x7FE0, 0x0010, b"OW"))
    short = data[: found + 8] + struct.pack("<L", 10) + b"\x00" * 10
    with pytest.raises(Unpickable, match="shorter than its frames"):
        _pick(short, ExplicitVRLittleEndian, (1,), 4096)


def test_a_native_stream_that_ends_early_is_refused() -> None:
    data = _encoded(_dataset(), ExplicitVRLittleEndian)
    with pytest.raises(Unpickable, match="ended before"):
        _pick(data[: len(data) - 100], ExplicitVRLittleEndian, (FRAMES,), 4096)


def test_an_absurd_native_length_only_skips() -> None:
    ds = _dataset()
    data = _encoded(ds, ExplicitVRLittleEndian)
    at = data.index(struct.pack("<HH2s", 0x7FE0, 0x0010, b"OW"))
    absurd = data[: at + 8] + struct.pack("<L", 0xFFFFFFF0) + data[at + 12 :]
    kept = _read(_pick(absurd, ExplicitVRLittleEndian, (2,), 4096), ExplicitVRLittleEndian)
    assert len(kept.PixelData) == ROWS * COLUMNS * 2
