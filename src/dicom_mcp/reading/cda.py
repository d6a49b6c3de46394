"""An HL7 CDA document's text content, tags stripped, read with expat and bounded in size.

A document with a DTD is refused outright, so no entity can be declared: no "billion laughs",
no quadratic blow-up, no external entity, whatever the expat version. Base64 content
(`representation="B64"`, an embedded file) is skipped. Block elements stand on their own lines.
"""

from __future__ import annotations

import re
from typing import Final
from xml.parsers import expat

from dicom_mcp.errors import ReportUnreadable

_BLOCKS: Final = frozenset(
    {"title", "section", "text", "paragraph", "list", "item", "table", "tr", "caption", "br", "component"}
)
_CELLS: Final = frozenset({"td", "th"})
_SPACES = re.compile(r"[ \t\r\f\v]+")


class _Full(Exception):
    """Enough text has been read."""


class _Text:
    """Expat handlers that collect character data, with line breaks around block elements."""

    def __init__(self, limit: int) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.limit = limit
        self.skipping = 0  # depth inside base64 content

    def start(self, name: str, attributes: dict[str, str]) -> None:
        if self.skipping or attributes.get("representation") == "B64":
            self.skipping += 1
        elif name.rpartition(" ")[2] in _BLOCKS:
            self._add("\n")

    def end(self, name: str) -> None:
        if self.skipping:
            self.skipping -= 1
            return
        local = name.rpartition(" ")[2]
        if local in _BLOCKS:
            self._add("\n")
        elif local in _CELLS:
            self._add(" | ")

    def data(self, text: str) -> None:
        if not self.skipping:
            self._add(text.replace("\n", " "))

    def _add(self, text: str) -> None:
        self.parts.append(text)
        self.size += len(text)
        if self.size > self.limit:
            raise _Full


def _refuse_dtd(*_: object) -> None:
    raise ReportUnreadable("the CDA document declares a DTD, which is not accepted")


def cda_text(data: bytes, max_chars: int) -> tuple[str, bool]:
    """The document's text content (at most `max_chars` characters) and whether it was cut.

    Raises:
        ReportUnreadable: the document is not well-formed XML, or declares a DTD.
    """
    # Whitespace collapses when lines are tidied: read enough raw text to fill max_chars after.
    collected = _Text(limit=2 * max_chars + 4096)
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    parser.StartElementHandler = collected.start
    parser.EndElementHandler = collected.end
    parser.CharacterDataHandler = collected.data
    full = False
    try:
        parser.Parse(data.rstrip(b"\x00 \t\r\n"), True)
    except _Full:
        full = True
    except expat.ExpatError as exc:
        raise ReportUnreadable("the CDA document is not well-formed XML") from exc
    text = _tidy("".join(collected.parts))
    if len(text) > max_chars:
        return text[:max_chars], True
    return text, full


def _tidy(text: str) -> str:
    lines = (_SPACES.sub(" ", line).strip(" |") for line in text.split("\n"))
    return "\n".join(line.strip() for line in lines if line.strip())
