"""Some frames of an instance too large to hold, kept from its pixel data while it streams in.

A multi-gigabyte cine is looked at frame by frame: once `PixelStart` (here `FrameStart`, which
also notes the few header values that say where frames lie) has found the top-level Pixel Data,
a `Picker` is fed the rest of the dataset as it arrives and keeps only the frames asked for:

- native pixel data: frame k sits at (k - 1) x the frame's size (Rows x Columns x Samples per
  Pixel x Bits Allocated / 8, YBR_FULL_422 two samples a pixel) from the value's start;
- encapsulated pixel data: frames are found by their fragments (`fragments.py`), through the
  Basic Offset Table when it has one offset per frame, else one fragment per frame (RLE, PS3.5
  A.4.2, and any syntax whose fragment count turns out to match), or, for the JPEG family, a new
  frame at the fragment after one that ends with an EOI/EOC marker.

Everything is bounded before it is kept: the kept bytes (the header, the frames) never pass
`room`, an offset table may list no more offsets than frames, a frame past the count declared,
a fragment of undefined length, an offset into a fragment or past the last one, a value that
ends before the frames it declares and fragments without their sequence delimiter all end the
pick with `Unpickable` (whose message names the cause, never a value), or `PastRoom`.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from pydicom.uid import UID

from dicom_mcp.model.fragments import WHY, Fragments, Unpickable, encapsulated_element
from dicom_mcp.model.pixelstart import Found, PixelStart

__all__ = ["FrameStart", "Geometry", "PastRoom", "Picked", "Picker", "Unpickable"]

_NOTED: Final = {0x00280002, 0x00280004, 0x00280008, 0x00280010, 0x00280011, 0x00280100}
_VIDEO: Final = ("1.2.840.10008.1.2.4.10",)  # MPEG-2, MPEG-4, HEVC: .100 to .108


class PastRoom(ValueError):
    """The frames asked for (with the header) would pass the room the read has."""


class FrameStart(PixelStart):
    """`PixelStart`, noting on the way the top-level values that say where the frames lie."""

    def __init__(self, *, implicit_vr: bool, little_endian: bool) -> None:
        super().__init__(implicit_vr=implicit_vr, little_endian=little_endian)
        self.values: dict[int, bytes] = {}

    def _element(self, data: bytes | memoryview, position: int, tag: int) -> bool:
        if not self._frames and tag in _NOTED and tag not in self.values:
            if self.implicit:
                length, value = self._u32(data, position + 4), position + 8
            elif position + 12 <= len(data) and bytes(data[position + 4 : position + 6]) in (b"UN", b"OB"):
                length, value = self._u32(data, position + 8), position + 12
            else:
                length = struct.unpack_from(self.order + "H", data, position + 6)[0]
                value = position + 8
            if length <= 64:
                if value + length > len(data):
                    return False  # wait for the value
                self.values[tag] = bytes(data[value : value + length])
        return super()._element(data, position, tag)

    def geometry(self) -> Geometry:
        """The frame geometry the header declares.

        Raises:
            Unpickable: a value is missing or makes no sense.
        """

        def number(tag: int, default: int | None = None) -> int:
            raw = self.values.get(tag)
            if raw is None:
                if default is None:
                    raise Unpickable(f"{WHY}: its header lacks a value it needs (0x{tag:08X})")
                return default
            if tag == 0x00280008:  # Number of Frames, IS
                text = raw.rstrip(b"\x00 ").strip()
                if not text.isdigit() or len(text) > 10:
                    raise Unpickable(f"{WHY}: its Number of Frames is not a number")
                return int(text)
            if len(raw) != 2:
                raise Unpickable(f"{WHY}: a value in its header has the wrong size")
            return int(struct.unpack(self.order + "H", raw)[0])

        photometric = self.values.get(0x00280004, b"").rstrip(b"\x00 ").decode("ascii", "replace")
        return Geometry(
            rows=number(0x00280010),
            columns=number(0x00280011),
            samples=number(0x00280002, 1),
            bits=number(0x00280100),
            frames=max(number(0x00280008, 1), 1),
            photometric=photometric,
        )


@dataclass(frozen=True)
class Geometry:
    rows: int
    columns: int
    samples: int
    bits: int
    frames: int
    photometric: str = ""

    def frame_bytes(self) -> int:
        """The bytes of one native frame."""
        if self.bits not in (8, 16, 32, 64):
            raise Unpickable(f"{WHY}: frames of {self.bits} bits allocated do not sit at byte offsets")
        samples = 2 if self.photometric == "YBR_FULL_422" else self.samples
        size = self.rows * self.columns * samples * self.bits // 8
        if size <= 0:
            raise Unpickable(f"{WHY}: its frames have no size")
        return size


@dataclass(frozen=True)
class Picked:
    """The frames kept (numbers from 1, ascending) and the Pixel Data element that holds just them."""

    frames: tuple[int, ...]
    total: int  # the Number of Frames the instance declares
    element: bytes


class Picker:
    """Keeps the wanted frames of a Pixel Data element fed to it from the element's first byte."""

    def __init__(
        self, found: Found, geometry: Geometry, syntax: str, wanted: Iterable[int], room: int, *, big: bool
    ) -> None:
        self.found, self.geometry, self.syntax = found, geometry, UID(syntax)
        self.order = ">" if big else "<"
        self.wanted = tuple(sorted({f for f in wanted if 1 <= f <= geometry.frames}))
        if not self.wanted:
            raise Unpickable(f"frames asked for do not exist: the instance has {geometry.frames} frame(s)")
        if str(self.syntax).startswith(_VIDEO):
            raise Unpickable(f"{WHY}: it is a video stream, whose frames are not stored apart")
        self.room = room
        self.kept = 0
        self._skip = 8 if found.vr is None else 12  # the element's own header, not kept
        self._position = 0  # bytes of the value fed so far
        self._parts: dict[int, list[bytes]] = {frame: [] for frame in self.wanted}
        self._native = found.length is not None
        if self._native:
            size = geometry.frame_bytes()
            if int(found.length or 0) < size * geometry.frames:
                raise Unpickable(f"{WHY}: its pixel data is shorter than its frames")
            self._size = size
            self.spend(size * len(self.wanted))
        else:
            self._fragments = Fragments(self, geometry.frames, str(self.syntax))

    def spend(self, size: int) -> None:
        if self.kept + size > self.room:
            raise PastRoom("the frames asked for would pass the room left")
        self.kept += size

    def feed(self, data: bytes | memoryview) -> None:
        """Take the next bytes of the element."""
        view = memoryview(data)
        if self._skip:
            skipped = min(self._skip, len(view))
            self._skip -= skipped
            view = view[skipped:]
        if not view:
            return
        if self._native:
            self._feed_native(view)
        else:
            self._fragments.feed(view)

    def _feed_native(self, view: memoryview) -> None:
        start, end = self._position, self._position + len(view)
        self._position = end
        for frame in self.wanted:
            low, high = (frame - 1) * self._size, frame * self._size
            if low < end and high > start:
                self._parts[frame].append(bytes(view[max(low, start) - start : min(high, end) - start]))

    def finish(self) -> Picked:
        """The kept frames, once the message has ended.

        Raises:
            Unpickable: the stream ended before the frames asked for, or without its delimiter.
        """
        if self._native:
            if self._position < self.wanted[-1] * self._size:
                raise Unpickable(f"{WHY}: the instance ended before the frames asked for")
        else:
            self._fragments.finish()
        return Picked(self.wanted, self.geometry.frames, self._element())

    def keep(self, frame: int, data: bytes | memoryview) -> None:
        """Keep `data` (already counted) as part of `frame`."""
        self._parts[frame].append(bytes(data))

    def _element(self) -> bytes:
        order, tag = self.order, struct.pack(self.order + "HH", 0x7FE0, 0x0010)
        if self._native:
            value = b"".join(b"".join(self._parts[f]) for f in self.wanted)
            value += b"\x00" * (len(value) % 2)
            if self.found.vr is None:
                return tag + struct.pack(order + "L", len(value)) + value
            vr = (self.found.vr or "OB").encode("ascii", "replace")[:2]
            return tag + vr + b"\x00\x00" + struct.pack(order + "L", len(value)) + value
        return encapsulated_element(b"".join(self._parts[frame]) for frame in self.wanted)
