"""Retrieved instances as bytes, never parsed here: what a C-GET or WADO-RS brought, in memory.

Parsing what a PACS sends is untrusted work (deflate bombs, huge sequences, hostile documents),
so retrieval keeps each instance as its encoded dataset and the sandbox (`sandbox/`) parses it
in a separate process under a deadline. Here only two bounded steps happen:

- a Part 10 file (WADO-RS) is split into its transfer syntax and its dataset, reading nothing
  but the file meta group;
- a deflated dataset is inflated, each piece counted against the call's byte budget before it
  is kept, so a few kilobytes on the wire cannot become gigabytes in memory.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from pydicom.uid import DeflatedExplicitVRLittleEndian, ExplicitVRLittleEndian

# Explicit VRs whose length takes four bytes (after two reserved ones), PS3.5 7.1.2.
_LONG_VRS: Final = frozenset(b"OB OD OF OL OV OW SQ SV UC UN UR UT UV".split())
MAX_META_BYTES: Final = 64 * 1024
DICOM_JSON: Final = "application/dicom+json"
_PIECE: Final = 1024 * 1024  # bytes inflated at a time, each counted before the next


class Malformed(ValueError):
    """The bytes are not a DICOM instance we can split (the message names no value)."""


@dataclass(frozen=True)
class PixelsLeft:
    """The pixel data a header-only read did not take, as far as the read saw it."""

    how: str  # how the read stopped, for the audit record
    sop: str  # the SOP Instance UID the PACS said it was sending
    keyword: str | None = None  # PixelData, FloatPixelData, DoubleFloatPixelData; None: not seen
    vr: str | None = None
    length: int | None = None  # the bytes its element declared; None: undefined, or not seen


@dataclass(frozen=True)
class FramesKept:
    """The frames a frame read kept of an instance too large to hold: its pixel data holds only them."""

    frames: tuple[int, ...]  # numbers from 1, ascending
    total: int  # the Number of Frames of the instance
    how: str  # how they were read, for the audit record


@dataclass(frozen=True)
class Instance:
    """One instance's dataset, encoded in `syntax` (never deflated); `syntax` "" means unknown:
    the bytes are a whole file without file meta, for the parser to guess; DICOM_JSON: the
    instance's WADO-RS metadata (an array of one DICOM JSON dataset, bulk data by reference).

    A header-only read may hand on the dataset up to its top-level pixel data: `pixels_left`
    then says what was left behind; a frame read, the few frames it kept (`frames_kept`)."""

    data: bytes
    syntax: str
    pixels_left: PixelsLeft | None = None
    frames_kept: FramesKept | None = None

    def __len__(self) -> int:
        return len(self.data)


def received(data: bytes, syntax: str, take: Callable[[int], None]) -> Instance:
    """An instance from a C-STORE's dataset in the negotiated `syntax`, inflated if deflated.

    `take(n)` is called before each piece is kept (it raises past the budget); a dataset that is
    not deflated was counted as it arrived.
    """
    if syntax == DeflatedExplicitVRLittleEndian:
        return Instance(inflate(data, take), ExplicitVRLittleEndian)
    return Instance(data, syntax)


def from_file(data: bytes, take: Callable[[int], None]) -> Instance:
    """An instance from a Part 10 file (128-byte preamble, "DICM", file meta), inflated if deflated.

    Raises:
        Malformed: the file meta group cannot be read, or names no transfer syntax.
    """
    start = 132 if data[128:132] == b"DICM" else 0
    if data[start : start + 2] != b"\x02\x00":
        if start:
            raise Malformed("a Part 10 file without a file meta group")
        return Instance(data, "")  # no preamble, no meta: a bare dataset, for the parser to guess
    syntax, end = _meta(data, start)
    return received(data[end:], syntax, take)


def _meta(data: bytes, position: int) -> tuple[str, int]:
    """The transfer syntax the file meta group names, and where the dataset starts."""
    syntax = None
    limit = min(len(data), position + MAX_META_BYTES)
    while position + 8 <= limit and data[position : position + 2] == b"\x02\x00":
        element, vr = struct.unpack_from("<H", data, position + 2)[0], data[position + 4 : position + 6]
        if vr in _LONG_VRS:
            if position + 12 > limit:
                break
            length, header = struct.unpack_from("<L", data, position + 8)[0], 12
        else:
            length, header = struct.unpack_from("<H", data, position + 6)[0], 8
        value = position + header
        if value + length > limit:
            raise Malformed("the file meta group runs past its bounds")
        if element == 0x0010:
            syntax = data[value : value + length].rstrip(b"\x00 ").decode("ascii", "replace")
        position = value + length
    if data[position : position + 2] == b"\x02\x00":
        raise Malformed("the file meta group is larger than any real one")
    if not syntax:
        raise Malformed("the file meta group names no transfer syntax")
    return syntax, position


def inflate(data: bytes, take: Callable[[int], None]) -> bytes:
    """Inflate a deflated dataset (raw deflate, PS3.5 A.5), counting each piece with `take` first.

    Raises:
        Malformed: the deflated stream is damaged.
    """
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    pieces: list[bytes] = []
    pending = data
    try:
        while not inflater.eof:
            piece = inflater.decompress(pending, _PIECE)
            pending = inflater.unconsumed_tail
            if not piece and not pending:
                break  # the stream ended without its final block: keep what came
            take(len(piece))
            pieces.append(piece)
    except zlib.error:
        raise Malformed("the deflated dataset is damaged") from None
    return b"".join(pieces)
