"""Images that lie or cannot be shown: codestreams larger than their header, pixels one may not show.

Also `small_image`, a small secondary capture that renders.
"""

from __future__ import annotations

import io
import struct

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.uid import UID, JPEGBaseline8Bit, JPEGLSLossless

from testbeds.bombs.encoding import PATIENT, SECONDARY_CAPTURE, Instance, Place, grey, header


def _gradient(side: int = 64) -> np.ndarray:
    return (np.arange(side * side) % 251).astype(np.uint8).reshape(side, side)


def small_image(place: Place, number: int = 1, patient: tuple[str, str] = PATIENT) -> Instance:
    """A 64 x 64 8-bit secondary capture that renders."""
    ds = header(place, SECONDARY_CAPTURE, "OT", patient)
    ds.InstanceNumber = number
    grey(ds, 64, 64)
    ds.PixelData = _gradient().tobytes()
    return Instance(place, SECONDARY_CAPTURE, "OT", ds, number)


def _declaring(codestream: bytes, marker: bytes, rows: int, columns: int) -> bytes:
    """`codestream` with the frame header after `marker` (SOFn) declaring `rows` x `columns`."""
    at = codestream.index(marker) + 5  # marker (2), length (2), precision (1), then Y, X
    return codestream[:at] + struct.pack(">HH", rows, columns) + codestream[at + 4 :]


def _encapsulated(place: Place, frame: bytes, syntax: UID, number: int) -> Instance:
    ds = header(place, SECONDARY_CAPTURE, "OT")
    ds.file_meta.TransferSyntaxUID = syntax
    ds.InstanceNumber = number
    grey(ds, 64, 64)
    ds.PixelData = encapsulate([frame])
    ds["PixelData"].VR = "OB"
    return Instance(place, SECONDARY_CAPTURE, "OT", ds, number)


def jpegls_liar(place: Place, number: int = 1, declared: int = 16384) -> Instance:
    """A 64 x 64 JPEG-LS instance whose codestream (SOF55) declares `declared` x `declared`."""
    import jpeg_ls  # type: ignore[import-untyped]  # noqa: PLC0415 - only this maker needs it

    codestream = bytes(jpeg_ls.encode_array(_gradient()))
    return _encapsulated(
        place, _declaring(codestream, b"\xff\xf7", declared, declared), JPEGLSLossless, number
    )


def jpeg_liar(place: Place, number: int = 1, declared: int = 65000) -> Instance:
    """A 64 x 64 baseline JPEG instance whose codestream (SOF0) declares `declared` x `declared`."""
    out = io.BytesIO()
    Image.fromarray(_gradient(), mode="L").save(out, format="JPEG", quality=90)
    codestream = _declaring(out.getvalue(), b"\xff\xc0", declared, declared)
    return _encapsulated(place, codestream, JPEGBaseline8Bit, number)


def palette_without_lut(place: Place, number: int = 1) -> Instance:
    """PALETTE COLOR pixels with no palette lookup tables at all."""
    instance = small_image(place, number)
    assert isinstance(instance.payload, Dataset)
    instance.payload.PhotometricInterpretation = "PALETTE COLOR"
    return instance


def one_bit(place: Place, number: int = 1) -> Instance:
    """A 1-bit image (BitsAllocated 1): eight pixels a byte, rows not byte-aligned."""
    ds = small_image(place, number).payload
    assert isinstance(ds, Dataset)
    ds.Rows = ds.Columns = 63
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 1, 1, 0
    ds.PixelData = bytes([0b10101010]) * ((63 * 63 + 7) // 8 + 1)
    return Instance(place, SECONDARY_CAPTURE, "OT", ds, number)


def bogus_voi_lut(place: Place, number: int = 1) -> Instance:
    """A VOI LUT whose descriptor promises 4096 16-bit entries and whose data holds 2."""
    ds = small_image(place, number).payload
    assert isinstance(ds, Dataset)
    lut = Dataset()
    # Both are "US or SS" / "US or OW" in the dictionary: say which, or nothing can encode them.
    lut.add_new(0x00283002, "US", [4096, 0, 16])  # LUT Descriptor
    lut.add_new(0x00283006, "US", [0, 65535])  # LUT Data
    ds.VOILUTSequence = [lut]
    return Instance(place, SECONDARY_CAPTURE, "OT", ds, number)
