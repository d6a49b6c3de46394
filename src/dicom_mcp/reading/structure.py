"""A dataset's shape, bounded before pydicom parses it: how many sequence items, how deeply nested.

pydicom reads every sequence item of a dataset as it parses (recursively, items as Datasets), so
an SR of a million items or one nested three thousand deep costs seconds and gigabytes, or a
RecursionError, before any of our code can look. This walk reads only element headers and
lengths, skipping values, and stops at the first bound passed. Encapsulated pixel data (its
fragments) is skipped, not counted.
"""

from __future__ import annotations

import struct
from functools import lru_cache
from typing import Final

from pydicom.datadict import dictionary_VR

MAX_ITEMS: Final = 200_000  # sequence items in all; Enhanced multi-frame objects stay far below
MAX_DEPTH: Final = 32  # sequences within sequences
_UNDEFINED: Final = 0xFFFFFFFF
_ITEM, _ITEM_END, _SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_LONG_VRS: Final = frozenset(b"OB OD OF OL OV OW SQ SV UC UN UR UT UV".split())


class TooComplex(ValueError):
    """The dataset passes a bound; the message says which."""


def check_shape(data: bytes, *, implicit_vr: bool, little_endian: bool) -> None:
    """Walk `data`'s element headers; raise TooComplex past MAX_ITEMS or MAX_DEPTH.

    A malformed dataset is left for the parser to refuse: the walk just stops.
    """
    walker = _Walker(data, implicit_vr, "<" if little_endian else ">")
    walker.walk()


class _Walker:
    def __init__(self, data: bytes, implicit_vr: bool, order: str) -> None:
        self.data, self.implicit, self.order = data, implicit_vr, order
        self.items = 0

    def walk(self) -> None:
        # Each frame of the stack: where its content ends (None: until its delimiter), its depth.
        stack: list[tuple[int | None, int]] = [(len(self.data), 0)]
        position = 0
        while stack:
            end, depth = stack[-1]
            if (end is not None and position >= end) or position + 8 > len(self.data):
                stack.pop()
                if end is None:
                    return  # an undefined length that never ended: the parser will say so
                continue
            tag = self._tag(position)
            if tag in (_ITEM_END, _SEQUENCE_END):
                position += 8
                stack.pop()
                continue
            if tag == _ITEM:
                length = self._u32(position + 4)
                position += 8
                self.items += 1
                if self.items > MAX_ITEMS:
                    raise TooComplex(
                        f"the instance holds too many sequence items (more than {MAX_ITEMS}) to read"
                    )
                stack.append((None if length == _UNDEFINED else position + length, depth))
                continue
            position = self._element(position, stack, depth)
            if position < 0:
                return

    def _element(self, position: int, stack: list[tuple[int | None, int]], depth: int) -> int:
        """Step over one element, or into it when it is a sequence; -1 when the data ends."""
        tag = self._tag(position)
        if self.implicit:
            vr, length, value = b"", self._u32(position + 4), position + 8
        else:
            vr = self.data[position + 4 : position + 6]
            if vr in _LONG_VRS:
                if position + 12 > len(self.data):
                    return -1
                length, value = self._u32(position + 8), position + 12
            else:
                length, value = struct.unpack_from(self.order + "H", self.data, position + 6)[0], position + 8
        if tag == 0x7FE00010 and length == _UNDEFINED:
            return self._skip_fragments(value)
        # Explicit VR says SQ; implicit VR says nothing, so an undefined length or the dictionary
        # does. (A sequence hidden in an explicit UN is encoded otherwise: the walk stops there.)
        sequence = vr == b"SQ" or (self.implicit and (length == _UNDEFINED or _is_sequence(tag)))
        if not sequence:
            return value + length if length != _UNDEFINED else -1
        if depth + 1 > MAX_DEPTH:
            raise TooComplex(
                f"the instance nests sequences too deeply (more than {MAX_DEPTH} levels) to read"
            )
        stack.append((None if length == _UNDEFINED else value + length, depth + 1))
        return value

    def _skip_fragments(self, position: int) -> int:
        """Past encapsulated pixel data: items of defined length up to the sequence delimiter."""
        while position + 8 <= len(self.data):
            tag, length = self._tag(position), self._u32(position + 4)
            position += 8
            if tag == _SEQUENCE_END:
                return position
            if length == _UNDEFINED:
                return -1
            position += length
        return -1

    def _tag(self, position: int) -> int:
        group, element = struct.unpack_from(self.order + "HH", self.data, position)
        return int(group) << 16 | int(element)

    def _u32(self, position: int) -> int:
        return int(struct.unpack_from(self.order + "L", self.data, position)[0])


@lru_cache(maxsize=4096)
def _is_sequence(tag: int) -> bool:
    """Whether the dictionary says `tag` is a sequence (implicit VR gives no other sign)."""
    try:
        return dictionary_VR(tag) == "SQ"
    except KeyError:
        return False
