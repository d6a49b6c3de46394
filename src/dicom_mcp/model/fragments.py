"""The items of encapsulated pixel data, read as they stream in, for `framepick.Picker`.

The Basic Offset Table comes first, then the fragments, then the sequence delimiter (PS3.5
A.4). Each fragment is given to a frame: through the offset table when it lists one offset per
frame, else one fragment per frame (RLE, and any syntax whose fragment count turns out to match),
or, for the JPEG family, a new frame at the fragment after one that ends with an EOI/EOC marker.
The `Keeper` counts and keeps the bytes of the frames it wants. Anything malformed ends the read
with `Unpickable`, whose message names the cause, never a value.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from itertools import pairwise
from typing import Final, Protocol

from pydicom.uid import RLELossless

from dicom_mcp.model.pixelstart import UNDEFINED

_ITEM, _SEQUENCE_END = 0xFFFEE000, 0xFFFEE0DD
MAX_OFFSETS_BYTES: Final = 4 * 1024 * 1024  # a Basic Offset Table of a million frames
WHY: Final = "the instance's pixel data cannot be read frame by frame"
# Syntaxes whose frames end with an EOI (JPEG, JPEG-LS) or EOC (JPEG 2000, HTJ2K) marker, FF D9.
_MARKED: Final = ("1.2.840.10008.1.2.4.",)


def encapsulated_element(frames: Iterable[bytes]) -> bytes:
    """A Pixel Data element (Explicit VR Little Endian) holding `frames` one fragment each, after an
    empty Basic Offset Table: how an instance of some of its frames is handed on."""
    items = [struct.pack("<HHL", 0xFFFE, 0xE000, 0)]
    for frame in frames:
        value = frame + b"\x00" * (len(frame) % 2)
        items.append(struct.pack("<HHL", 0xFFFE, 0xE000, len(value)) + value)
    items.append(struct.pack("<HHL", 0xFFFE, 0xE0DD, 0))
    return struct.pack("<HH", 0x7FE0, 0x0010) + b"OB\x00\x00" + struct.pack("<L", UNDEFINED) + b"".join(items)


class Unpickable(ValueError):
    """The stream cannot be read frame by frame (the message names the cause, never a value)."""


class Keeper(Protocol):
    """Who keeps the frames (`framepick.Picker`)."""

    wanted: tuple[int, ...]

    def spend(self, size: int) -> None:
        """Count `size` bytes of a wanted frame before they are kept (raises past the room)."""
        ...

    def keep(self, frame: int, data: bytes | memoryview) -> None:
        """Keep `data` (already counted) as part of `frame`."""
        ...


class Fragments:
    """The items of encapsulated pixel data: the offset table, then fragments, then the delimiter."""

    def __init__(self, keeper: Keeper, frames: int, syntax: str) -> None:
        self.keeper, self.frames, self.syntax = keeper, frames, syntax
        self.head = b""  # an item header still arriving
        self.left = 0  # bytes of the current item still to come
        self.item = -1  # the item being read: 0 is the offset table
        self.offsets: list[int] | None = None
        self.table = bytearray()
        self.at = 0  # bytes of fragment items (headers included) before the current one
        self.frame = 0  # the frame the current fragment belongs to
        self.fragments = 0
        self.ended = False  # the previous fragment ended with FF D9
        self.tail = b""
        self.done = False
        self.marked = syntax.startswith(_MARKED)

    def feed(self, view: memoryview) -> None:
        while view and not self.done:
            if self.left:
                take = min(self.left, len(view))
                self._content(view[:take])
                self.left -= take
                view = view[take:]
                if not self.left and self.item == 0:
                    self._table()
                continue
            need = 8 - len(self.head)
            self.head += bytes(view[:need])
            view = view[need:]
            if len(self.head) == 8:
                self._item()

    def _item(self) -> None:
        group, element, length = struct.unpack("<HHL", self.head)
        self.head = b""
        tag = group << 16 | element
        if tag == _SEQUENCE_END:
            self.done = True
            return
        if tag != _ITEM or length == UNDEFINED:
            raise Unpickable(f"{WHY}: its fragments are not well formed")
        self.item += 1
        if self.item == 0:
            if length % 4 or length > min(4 * self.frames, MAX_OFFSETS_BYTES):
                raise Unpickable(f"{WHY}: its offset table is larger than its frames need")
            self.left = length
            if not length:
                self._table()
            return
        self._fragment(length)
        self.at += 8 + length
        self.left = length

    def _table(self) -> None:
        count = len(self.table) // 4
        offsets = list(struct.unpack(f"<{count}L", self.table)) if count else []
        if offsets and (
            len(offsets) != self.frames or offsets[0] != 0 or any(b <= a for a, b in pairwise(offsets))
        ):
            raise Unpickable(f"{WHY}: its offset table does not list one offset per frame, in order")
        self.offsets = offsets or None
        self.table = bytearray()

    def _fragment(self, length: int) -> None:
        """Which frame the fragment starting now belongs to, and whether it is kept."""
        offsets, frames = self.offsets, self.frames
        if offsets is not None:
            while self.frame < frames and offsets[self.frame] <= self.at:
                if offsets[self.frame] != self.at:
                    raise Unpickable(f"{WHY}: its offset table points inside a fragment")
                self.frame += 1
        elif self.frame == 0 or not self.marked or self.ended:
            self.frame += 1
        self.fragments += 1
        if self.frame > frames or self.frame == 0:
            raise Unpickable(f"{WHY}: it holds more frames than it declares")
        self.ended, self.tail = False, b""
        if self.frame in self.keeper.wanted:
            self.keeper.spend(length)

    def _content(self, data: memoryview) -> None:
        if self.item == 0:
            self.table += data
            return
        if self.frame in self.keeper.wanted:
            self.keeper.keep(self.frame, data)
        if self.marked:
            self.tail = (self.tail + bytes(data[-3:]))[-3:]
            self.ended = self.tail.endswith(b"\xff\xd9") or self.tail == b"\xff\xd9\x00"

    def finish(self) -> None:
        frames = self.frames
        if not self.done:
            raise Unpickable(f"{WHY}: its fragments did not end where the instance did")
        if self.offsets is not None and self.frame < frames:
            raise Unpickable(f"{WHY}: its offset table points past its last fragment")
        if self.offsets is None and self.frame != frames:
            if self.syntax == RLELossless or not self.marked:
                raise Unpickable(f"{WHY}: it has no offset table and its fragments are not one per frame")
            raise Unpickable(f"{WHY}: it has no offset table and its frames cannot be told apart")
