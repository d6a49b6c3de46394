"""One message between the service and a sandbox worker: a JSON header and raw bytes.

Layout: the header's length (4 bytes, big-endian), the payload's length (8 bytes), the header
(UTF-8 JSON object), the payload. No pickles cross the pipe.
"""

from __future__ import annotations

import json
import struct
from typing import Any, BinaryIO, Final

_PREFIX: Final = struct.Struct(">IQ")
MAX_HEADER: Final = 16 * 1024 * 1024


class FrameError(ValueError):
    """The other side sent something that is not a frame."""


def encode(header: dict[str, Any], payload: bytes = b"") -> bytes:
    """The frame's prefix and header (the payload is sent after it, as it is)."""
    text = json.dumps(header, separators=(",", ":")).encode()
    return _PREFIX.pack(len(text), len(payload)) + text


def split_prefix(prefix: bytes) -> tuple[int, int]:
    """The header's and payload's lengths from a frame's first `PREFIX_SIZE` bytes."""
    header_size, payload_size = _PREFIX.unpack(prefix)
    if header_size > MAX_HEADER:
        raise FrameError("a frame header is too long")
    return header_size, payload_size


def decode_header(data: bytes) -> dict[str, Any]:
    try:
        header = json.loads(data)
    except ValueError:
        raise FrameError("a frame header is not JSON") from None
    if not isinstance(header, dict):
        raise FrameError("a frame header is not an object")
    return header


PREFIX_SIZE: Final = _PREFIX.size


def read(stream: BinaryIO) -> tuple[dict[str, Any], bytes] | None:
    """A frame from a blocking stream, or None at its end (for the worker)."""
    prefix = _exactly(stream, PREFIX_SIZE)
    if prefix is None:
        return None
    header_size, payload_size = split_prefix(prefix)
    header = _exactly(stream, header_size)
    payload = _exactly(stream, payload_size)
    if header is None or payload is None:
        raise FrameError("a frame was cut short")
    return decode_header(header), payload


def write(stream: BinaryIO, header: dict[str, Any], payload: bytes = b"") -> None:
    stream.write(encode(header, payload))
    stream.write(payload)
    stream.flush()


def _exactly(stream: BinaryIO, size: int) -> bytes | None:
    chunks: list[bytes] = []
    left = size
    while left:
        chunk = stream.read(left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
