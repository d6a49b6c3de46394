"""multipart/related bodies (RFC 2387), as WADO-RS sends instances: the parts' bodies, in order.

The whole body is in memory already (read within the byte cap); a body without its closing
delimiter was cut short, which the caller must not mistake for a smaller answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message


class MultipartError(ValueError):
    """The body is not a multipart/related body."""


class CutShort(MultipartError):
    """The body ends before its closing delimiter."""


class TooManyParts(MultipartError):
    """The body holds more parts than the caller will take."""


@dataclass(frozen=True)
class Part:
    content_type: str  # lower case, without parameters; "" when the part declares none
    body: bytes
    transfer_syntax: str = ""  # its transfer-syntax parameter (WADO-RS frames), "" when none


def boundary_of(content_type: str) -> str | None:
    """The boundary parameter of a multipart Content-Type, or None if it is not multipart."""
    message = Message()
    message["Content-Type"] = content_type
    if message.get_content_maintype() != "multipart":
        return None
    boundary = message.get_param("boundary")
    return boundary if isinstance(boundary, str) and boundary else None


def parameter(content_type: str, name: str) -> str:
    """A parameter of a Content-Type value ("" when it has none of that name)."""
    message = Message()
    message["Content-Type"] = content_type
    value = message.get_param(name)
    return value.strip() if isinstance(value, str) else ""


def parts(body: bytes, boundary: str, most: int = 10_000) -> list[Part]:
    """Split `body` into its parts, at most `most` of them.

    Raises:
        TooManyParts: there are more than `most`.
        CutShort: the closing delimiter never came.
        MultipartError: there is no first delimiter, or a part has no header/body separator.
    """
    delimiter = b"--" + boundary.encode("latin-1")
    start = body.find(delimiter)
    if start < 0:
        raise MultipartError("no delimiter")
    found: list[Part] = []
    position = start + len(delimiter)
    while True:
        if body.startswith(b"--", position):
            return found  # the closing delimiter; an epilogue may follow
        following = body.find(b"\r\n" + delimiter, position)
        if following < 0:
            raise CutShort("no closing delimiter")
        if len(found) >= most:
            raise TooManyParts(f"more than {most} parts")
        found.append(_part(body[position:following]))
        position = following + 2 + len(delimiter)


def _part(raw: bytes) -> Part:
    """One part: transport padding and CRLF after the delimiter, headers, an empty line, the body."""
    line_end = raw.find(b"\r\n")
    if line_end < 0 or raw[:line_end].strip(b" \t"):
        raise MultipartError("a delimiter line carries text")
    headers_end = raw.find(b"\r\n\r\n", line_end)
    if headers_end < 0:
        if raw[line_end:] != b"\r\n":
            raise MultipartError("a part has no empty line after its headers")
        return Part("", b"")
    content_type = syntax = ""
    for line in raw[line_end + 2 : headers_end].split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-type":
            text = value.decode("latin-1")
            content_type, syntax = text.split(";")[0].strip().lower(), parameter(text, "transfer-syntax")
    return Part(content_type, raw[headers_end + 4 :], syntax)
