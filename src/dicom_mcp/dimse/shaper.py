"""C-FIND response identifiers read from their raw bytes: the fast path to JSON-safe values.

`shaper_for` returns a reader for a response fresh off the wire: it decodes the raw bytes of the
common VRs (UIDs, dates, codes, names and other text in ASCII, Latin-1 or UTF-8, integers and
decimals) itself and leaves anything else (sequences, ISO 2022 code extensions, values pydicom
would repair or warn about) to `model.values.shape_identifier`, the reference, so both give the
same answer for every identifier.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from functools import lru_cache
from io import BytesIO
from typing import Any, Final

from pydicom import config
from pydicom.charset import python_encoding
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.filereader import read_dataset

from dicom_mcp.model.values import BINARY_VRS, JsonValue, element_value, shape_identifier

_SPECIFIC_CHARACTER_SET: Final = 0x00080005
_ESC: Final = 0x1B
# Character sets whose text decodes with one Python codec (no ISO 2022 code extensions).
_CODECS: Final = {term: python_encoding[term] for term in ("ISO_IR 6", "ISO_IR 100", "ISO_IR 192")}
_DEFAULT_CODEC: Final = python_encoding["ISO_IR 6"]
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


class _Slow:
    """Marks a value the fast path leaves to pydicom."""


_SLOW: Final = _Slow()


# One top-level element as read off the wire: its VR (None under implicit VR) and value bytes.
Raw = tuple[str | None, bytes]
_LONG_LENGTH_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"})
_VRS = _LONG_LENGTH_VRS | {
    "AE", "AS", "AT", "CS", "DA", "DS", "DT", "FD", "FL", "IS", "LO", "LT", "PN", "SH", "SL", "SS", "ST", "TM", "UI",
    "UL", "US",
}  # fmt: skip


def read_flat(data: bytes, implicit_vr: bool) -> dict[int, Raw] | None:
    """The top-level elements of a little endian data set; None if it holds anything but plain ones.

    Undefined lengths (sequences, items), unknown VRs and truncation are left to pydicom.
    """
    elements: dict[int, Raw] = {}
    position, end = 0, len(data)
    while position < end:
        if position + 8 > end:
            return None
        group, number = struct.unpack_from("<HH", data, position)
        vr: str | None = None
        if implicit_vr:
            (length,) = struct.unpack_from("<I", data, position + 4)
            position += 8
        else:
            vr = data[position + 4 : position + 6].decode("latin-1")
            if vr not in _VRS:
                return None
            if vr in _LONG_LENGTH_VRS:
                if position + 12 > end:
                    return None
                (length,) = struct.unpack_from("<I", data, position + 8)
                position += 12
            else:
                (length,) = struct.unpack_from("<H", data, position + 6)
                position += 8
        if length == 0xFFFFFFFF or group == 0xFFFE or position + length > end:
            return None
        elements[group << 16 | number] = (vr, data[position : position + length])
        position += length
    return elements


class Shaper:
    """`shape_identifier` for fixed keywords, faster on identifiers fresh off the wire."""

    def __init__(self, keywords: tuple[str, ...]) -> None:
        self.keywords = keywords
        self._wanted = tuple((keyword, tag_for_keyword(keyword)) for keyword in keywords)

    def __call__(self, identifier: Dataset) -> dict[str, JsonValue]:
        """Shape a decoded identifier, reading its elements' raw values where pydicom left them raw."""

        def raw(tag: int) -> Raw | _Slow | None:
            element = identifier.get_item(tag)
            if element is None:
                return None
            if isinstance(element, RawDataElement) and element.value is not None:
                return element.VR, element.value
            return _SLOW

        return self._shape(raw, lambda: identifier)

    def from_bytes(self, data: bytes, implicit_vr: bool) -> dict[str, JsonValue]:
        """Shape an encoded little endian identifier, decoding with pydicom only what needs it."""
        elements = read_flat(data, implicit_vr)
        if elements is None:
            return shape_identifier(read_dataset(BytesIO(data), implicit_vr, True), self.keywords)
        decoded: list[Dataset] = []

        def dataset() -> Dataset:
            if not decoded:
                decoded.append(read_dataset(BytesIO(data), implicit_vr, True))
            return decoded[0]

        return self._shape(elements.get, dataset)

    def _shape(
        self, raw: Callable[[int], Raw | _Slow | None], dataset: Callable[[], Dataset]
    ) -> dict[str, JsonValue]:
        fast = _defaults()
        codec = _text_codec(raw(_SPECIFIC_CHARACTER_SET))
        shaped: dict[str, JsonValue] = {}
        for keyword, tag in self._wanted:
            value: JsonValue | _Slow = _SLOW
            if fast and tag is not None:
                element = raw(tag)
                value = _raw_value(tag, element, codec) if isinstance(element, tuple) else element
            if isinstance(value, _Slow):
                identifier = dataset()
                value = element_value(identifier[keyword] if keyword in identifier else None)  # noqa: SIM401
            shaped[keyword] = value
        return shaped


@lru_cache(maxsize=256)
def shaper_for(keywords: tuple[str, ...]) -> Shaper:
    """A `Shaper` for `keywords` (built once per set of keywords)."""
    return Shaper(keywords)


def _defaults() -> bool:
    """The fast path mirrors pydicom's default conversions only."""
    return not (
        config.datetime_conversion or config.use_DS_decimal or config.use_DS_numpy or config.use_IS_numpy
    )


def _text_codec(charset: Raw | _Slow | None) -> str | None:
    """The codec of the identifier's text values, or None when only pydicom can decode them."""
    if charset is None:
        return _DEFAULT_CODEC
    if isinstance(charset, _Slow):
        return None
    term = charset[1].decode("latin-1").rstrip(" \x00")
    return _CODECS.get(term) if term else _DEFAULT_CODEC


def _raw_value(tag: int, element: Raw, codec: str | None) -> JsonValue | _Slow:
    """The JSON value of a raw element of a common VR, or _SLOW."""
    vr, data = element
    vr = vr or dictionary_VR(tag)
    if not data:
        return None
    if vr in BINARY_VRS and vr != "UN":
        return f"<{len(data)} bytes of binary data omitted>"
    if vr in ("UI", "CS", "DA", "TM", "DT", "AS"):
        return _values(data.decode("latin-1").rstrip(" \x00").split("\\"))
    if vr == "AE":
        return _values([item.strip() for item in data.decode("latin-1").split("\\")])
    if vr == "IS":
        return _numbers(data.decode("latin-1").rstrip(" \x00").split("\\"), _INTEGER, int)
    if vr == "DS":
        return _numbers(data.decode("latin-1").strip().rstrip(" \x00").split("\\"), _DECIMAL, float)
    if codec is None or _ESC in data or vr not in ("PN", "SH", "LO", "UC", "ST", "LT", "UT"):
        return _SLOW
    try:
        if vr == "PN":
            return _values(data.rstrip(b"\x00 ").decode(codec).split("\\"))
        text = data.decode(codec)
    except UnicodeError:
        return _SLOW  # pydicom warns and substitutes; let it
    if vr in ("ST", "LT", "UT"):
        return _values([text.rstrip("\x00 ")])
    return _values([item.rstrip("\x00 ") for item in text.split("\\")])


def _values(items: list[str]) -> JsonValue:
    if len(items) == 1:
        return items[0] or None
    return [item or None for item in items]


def _numbers(items: list[str], pattern: re.Pattern[str], kind: Callable[[str], Any]) -> JsonValue | _Slow:
    if any(item and not pattern.fullmatch(item) for item in items):
        return _SLOW  # spaces, signs or forms pydicom validates or repairs
    return _values_of([kind(item) if item else None for item in items])


def _values_of(items: list[Any]) -> JsonValue:
    return items[0] if len(items) == 1 else items
