"""Size bombs: instances of a gibibyte that cost a megabyte, or nothing, to hold; a CT of 58 MB."""

from __future__ import annotations

import zlib
from pathlib import Path

from pydicom.uid import DeflatedExplicitVRLittleEndian, ExplicitVRLittleEndian, JPEGBaseline8Bit

from testbeds.bombs.encoding import (
    CHUNK,
    CT_IMAGE,
    GIB,
    ITEM,
    PRIVATE_BULK,
    PRIVATE_CREATOR,
    SECONDARY_CAPTURE,
    SEQUENCE_END,
    Instance,
    Place,
    delimiter,
    element_header,
    explicit_le,
    grey,
    header,
    part10_file,
    preamble_and_meta,
    write,
)


def deflated_part10(place: Place, inflated: int = GIB, sop_class: str = SECONDARY_CAPTURE) -> bytes:
    """A Part 10 file in Deflated Explicit VR LE whose dataset inflates to `inflated` bytes and more.

    The file meta group stays uncompressed (PS3.10 7.1); the dataset is one raw deflate stream
    (wbits=-15): the identity, then a private OB of `inflated` zeros (~1 MB on the wire for 1 GiB).
    The zeros are deflated one full-flushed chunk at a time: after a full flush a chunk refers to
    nothing before it, so its compressed form is the same every time and is made once.
    """
    ds = header(place, sop_class, "OT")
    ds.add_new(PRIVATE_CREATOR, "LO", "HOSTILE BED")
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = explicit_le(ds) + element_header(PRIVATE_BULK, "OB", inflated)
    out = [compressor.compress(head), compressor.flush(zlib.Z_FULL_FLUSH)]
    whole, rest = divmod(inflated, CHUNK)
    if whole:
        block = compressor.compress(bytes(CHUNK)) + compressor.flush(zlib.Z_FULL_FLUSH)
        out.append(block * whole)
    out += [compressor.compress(bytes(rest)), compressor.flush()]
    return preamble_and_meta(sop_class, place.sop, DeflatedExplicitVRLittleEndian) + b"".join(out)


def deflated_bomb(folder: Path, place: Place, inflated: int = GIB) -> Instance:
    """`deflated_part10` as a secondary capture, written under `folder` (sent as it is encoded)."""
    path = write(folder / f"{place.sop}.dcm", [deflated_part10(place, inflated)])
    return Instance(place, SECONDARY_CAPTURE, "OT", path)


def huge_instance(folder: Path, place: Place, size: int = GIB) -> Instance:
    """One dataset of `size` bytes and more: a private OB of zeros, streamed from a sparse file."""
    ds = header(place, SECONDARY_CAPTURE, "OT")
    ds.add_new(PRIVATE_CREATOR, "LO", "HOSTILE BED")
    parts: list[bytes | int] = [explicit_le(ds), element_header(PRIVATE_BULK, "OB", size), size]
    return Instance(place, SECONDARY_CAPTURE, "OT", part10_file(folder, ds, ExplicitVRLittleEndian, parts))


def large_ct(folder: Path, place: Place, number: int = 1, side: int = 5400) -> Instance:
    """An uncompressed 16-bit CT of `side` x `side` (58 MB at 5400), its pixels all zero."""
    ds = header(place, CT_IMAGE, "CT")
    ds.InstanceNumber = number
    grey(ds, side, side, bits=16)
    ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
    ds.WindowCenter, ds.WindowWidth = 40, 400
    length = side * side * 2
    parts: list[bytes | int] = [explicit_le(ds), element_header(0x7FE00010, "OW", length), length]
    return Instance(place, CT_IMAGE, "CT", part10_file(folder, ds, ExplicitVRLittleEndian, parts), number)


def huge_encapsulated(folder: Path, place: Place, size: int = GIB) -> Instance:
    """A JPEG Baseline CT whose encapsulated pixel data (undefined length) runs to `size` bytes of
    fragments, each a MiB of zeros: its header says nothing of its size."""
    ds = header(place, CT_IMAGE, "CT")
    grey(ds, 512, 512)
    ds.NumberOfFrames = size // CHUNK
    parts: list[bytes | int] = [
        explicit_le(ds),
        element_header(0x7FE00010, "OB", 0xFFFFFFFF),
        delimiter(ITEM),
    ]
    for _ in range(size // CHUNK):
        parts += [delimiter(ITEM, CHUNK), CHUNK]
    parts.append(delimiter(SEQUENCE_END))
    return Instance(place, CT_IMAGE, "CT", part10_file(folder, ds, JPEGBaseline8Bit, parts))
