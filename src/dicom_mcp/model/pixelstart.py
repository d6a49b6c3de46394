"""Where a dataset's top-level pixel data begins, found while its bytes are still arriving.

A header never needs the pixel data, and in a large multi-frame instance the pixel data is
almost all of it. `PixelStart` walks the element headers of a dataset as its bytes come in (a
C-STORE's fragments), reading only tags, VRs and lengths, and stops at the top-level Pixel Data,
Float Pixel Data or Double Float Pixel Data element: the bytes before it are the whole header.
Sequences (of defined or undefined length) are stepped through, and encapsulated pixel data
nested in them (an icon image) is skipped by its fragments. Nothing is copied: each step looks at
the bytes received so far and remembers where it stopped, so the walk over a message costs one
pass however it is split.

What it cannot follow (a sequence hidden in an explicit UN, nesting deeper than `MAX_DEPTH`,
headers that make no sense) ends the walk with no answer: the message is then taken whole or
refused at the byte cap, as without a walk.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from pydicom.datadict import dictionary_VR

PIXEL_TAGS: Final = {
    0x7FE00008: "FloatPixelData",
    0x7FE00009: "DoubleFloatPixelData",
    0x7FE00010: "PixelData",
}
MAX_DEPTH: Final = 32  # sequences and items within each other, as reading/structure.py allows
UNDEFINED: Final = 0xFFFFFFFF
_ITEM, _ITEM_END, _SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_LONG_VRS: Final = frozenset(b"OB OD OF OL OV OW SQ SV UC UN UR UT UV".split())
# What an open frame holds: a dataset's (or an item's) elements, a sequence's items, fragments.
_ELEMENTS, _ITEMS, _FRAGMENTS = 0, 1, 2


@dataclass(frozen=True)
class Found:
    """The top-level pixel data element: where its header starts, and what the header says."""

    offset: int  # the bytes before it are the dataset without its pixel data
    keyword: str
    vr: str | None  # None in implicit VR (the dictionary's "OB or OW")
    length: int | None  # None: undefined (encapsulated pixel data)

    @property
    def end(self) -> int | None:
        """Where the element's value ends, when its length is defined."""
        if self.length is None:
            return None
        return self.offset + (8 if self.vr is None else 12) + self.length


class PixelStart:
    """A resumable walk over a dataset's element headers, up to its top-level pixel data."""

    def __init__(self, *, implicit_vr: bool, little_endian: bool) -> None:
        self.implicit = implicit_vr
        self.order = "<" if little_endian else ">"
        self.position = 0
        # Each open frame: where its content ends (None: at its delimiter), and what it holds.
        self._frames: list[tuple[int | None, int]] = []
        self.found: Found | None = None
        self.lost = False  # the walk met what it cannot follow: no answer will come

    @property
    def done(self) -> bool:
        return self.found is not None or self.lost

    def advance(self, data: bytes | memoryview) -> Found | None:
        """Walk on over `data` (every byte of the dataset received so far); the pixel data, once met."""
        while not self.done:
            if not self._step(data):
                break
        return self.found

    def _step(self, data: bytes | memoryview) -> bool:
        """Take one step if the bytes it needs have come; False to wait for more."""
        frames, position = self._frames, self.position
        if frames and frames[-1][0] is not None and position >= frames[-1][0]:
            frames.pop()
            return True
        if position + 8 > len(data):
            return False
        tag = self._tag(data, position)
        kind = frames[-1][1] if frames else _ELEMENTS
        if tag in (_ITEM_END, _SEQUENCE_END):
            if not frames:
                self.lost = True
                return False
            frames.pop()
            self.position = position + 8
            return True
        if tag == _ITEM and kind != _ELEMENTS:
            length = self._u32(data, position + 4)
            if kind == _FRAGMENTS:  # a fragment of encapsulated pixel data: skipped whole
                self.position = position + 8 + (0 if length == UNDEFINED else length)
                self.lost = length == UNDEFINED
                return True
            return self._open(None if length == UNDEFINED else position + 8 + length, _ELEMENTS, position + 8)
        if kind != _ELEMENTS or tag == _ITEM:  # not a dataset we can follow
            self.lost = True
            return False
        return self._element(data, position, tag)

    def _element(self, data: bytes | memoryview, position: int, tag: int) -> bool:
        if self.implicit:
            vr, length, value = None, self._u32(data, position + 4), position + 8
        else:
            vr = bytes(data[position + 4 : position + 6])
            if vr in _LONG_VRS:
                if position + 12 > len(data):
                    return False
                length, value = self._u32(data, position + 8), position + 12
            else:
                length, value = struct.unpack_from(self.order + "H", data, position + 6)[0], position + 8
        undefined = length == UNDEFINED
        if not self._frames and tag in PIXEL_TAGS:
            text = vr.decode("ascii", "replace") if vr is not None else None
            self.found = Found(position, PIXEL_TAGS[tag], text, None if undefined else length)
            return False
        if tag == 0x7FE00010 and undefined:  # encapsulated pixel data in an item (an icon)
            return self._open(None, _FRAGMENTS, value)
        if vr == b"SQ" or (vr is None and (undefined or _is_sequence(tag))):
            return self._open(None if undefined else value + length, _ITEMS, value)
        if undefined:  # an explicit UN of undefined length holds a sequence in implicit VR: not followed
            self.lost = True
            return False
        self.position = value + length
        return True

    def _open(self, end: int | None, kind: int, position: int) -> bool:
        if len(self._frames) >= MAX_DEPTH:
            self.lost = True
            return False
        self._frames.append((end, kind))
        self.position = position
        return True

    def _tag(self, data: bytes | memoryview, position: int) -> int:
        group, element = struct.unpack_from(self.order + "HH", data, position)
        return int(group) << 16 | int(element)

    def _u32(self, data: bytes | memoryview, position: int) -> int:
        return int(struct.unpack_from(self.order + "L", data, position)[0])


@lru_cache(maxsize=4096)
def _is_sequence(tag: int) -> bool:
    """Whether the dictionary says `tag` is a sequence (implicit VR gives no other sign)."""
    try:
        return dictionary_VR(tag) == "SQ"
    except KeyError:
        return False
