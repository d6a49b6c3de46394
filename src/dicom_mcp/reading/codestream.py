"""The frame size a compressed codestream declares, read from its header before any decoding.

A decoder allocates what the codestream's own header says (JPEG SOFn, JPEG-LS SOF55, JPEG 2000
SIZ), whatever the instance's Rows and Columns claim: a 2 KB codestream can ask for 16384x16384.
Reading those few bytes first lets the caller refuse a frame that does not match its instance.
"""

from __future__ import annotations

import struct
from typing import Final

# Start-of-frame markers of JPEG (PS3.5 A.4.1, ITU T.81 B.1.1.3) and JPEG-LS (SOF55, T.87).
_SOF: Final = frozenset({*range(0xC0, 0xD0)} - {0xC4, 0xC8, 0xCC} | {0xF7})
_NO_LENGTH: Final = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RSTn: markers without a segment
_SEARCH: Final = 64 * 1024  # bytes searched for the header
_SOC_SIZ: Final = b"\xff\x4f\xff\x51"


def declared_size(frame: bytes) -> tuple[int, int] | None:
    """(rows, columns) as the codestream's header declares them; None when no header is recognised."""
    if frame[:2] == b"\xff\xd8":
        return _jpeg(frame)
    at = frame.find(_SOC_SIZ, 0, _SEARCH)  # a raw J2K codestream, or one inside a JP2 box
    return _j2k(frame, at + 4) if at >= 0 else None


def _jpeg(data: bytes) -> tuple[int, int] | None:
    position = 2
    limit = min(len(data), _SEARCH)
    while position + 4 <= limit:
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in _NO_LENGTH:
            position += 2
            continue
        length = struct.unpack_from(">H", data, position + 2)[0]
        if marker in _SOF:
            if position + 9 > len(data):
                return None
            rows, columns = struct.unpack_from(">HH", data, position + 5)
            return rows, columns
        if marker == 0xDA:  # start of scan before any frame header
            return None
        position += 2 + length
    return None


def _j2k(data: bytes, position: int) -> tuple[int, int] | None:
    """The image area of a SIZ segment (after its marker): Xsiz - XOsiz by Ysiz - YOsiz."""
    if position + 22 > len(data):
        return None
    xsiz, ysiz, xosiz, yosiz = struct.unpack_from(">IIII", data, position + 4)
    return max(0, ysiz - yosiz), max(0, xsiz - xosiz)
