"""Which images a pseudonymised caller may see: those where text burned into the pixels is rare.

Cross-sectional images (CT, MR, PET, NM) seldom carry text in their pixels; projection images
(CR, DX, MG) do often enough that they are shown only when the instance says it has none.
Ultrasound, endoscopy, secondary captures, scanned documents and screenshots often show the
patient's name, so they are never shown; nor is a derived image, or one with overlays.
"""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Mapping, Sequence
from typing import Any, Final

CROSS_SECTIONAL: Final = frozenset({"CT", "MR", "PT", "NM"})
PROJECTION: Final = frozenset({"CR", "DX", "MG"})
SECONDARY_CAPTURE: Final = "1.2.840.10008.5.1.4.1.1.7"  # and its multi-frame variants below it


def refusal(facts: Mapping[str, Any]) -> str | None:
    """Why the image these facts describe is not shown in the pseudonymised view, or None."""
    modality = str(facts.get("Modality") or "")
    burned_in = str(facts.get("BurnedInAnnotation") or "").upper()
    sop_class = str(facts.get("SOPClassUID") or "")
    image_type = facts.get("ImageType")
    first = str(image_type[0]).upper() if isinstance(image_type, Sequence) and image_type else ""
    if burned_in == "YES":
        return "the instance says text is burned into its pixels"
    if sop_class == SECONDARY_CAPTURE or sop_class.startswith(SECONDARY_CAPTURE + "."):
        return "secondary captures (screenshots, scans) often show the patient's identity in their pixels"
    if facts.get("overlays"):
        return "the instance has overlays, which may hold text"
    if modality in PROJECTION and burned_in != "NO":
        return f"{modality} images are shown only when the instance says BurnedInAnnotation NO"
    if modality not in CROSS_SECTIONAL | PROJECTION:
        shown = ", ".join(sorted(CROSS_SECTIONAL)) + " (and CR, DX, MG without burned-in text)"
        return f"{modality or 'this'} images may carry burned-in text; only {shown} are shown"
    if first != "ORIGINAL":
        return "only ORIGINAL images are shown (derived ones may carry annotations)"
    return None


_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_PNG_TEXT: Final = frozenset({b"tEXt", b"iTXt", b"zTXt", b"eXIf"})
_JPEG_TEXT: Final = frozenset({*range(0xE1, 0xF0), 0xFE})  # APP1-APP15 (Exif, XMP, ...) and COM


def without_text(data: str, mime_type: str) -> str:
    """A base64 picture without text or metadata chunks (our renderer writes none; this makes sure).

    PNG and JPEG are what the renderer makes; anything else, or anything unreadable, becomes "".
    """
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return ""
    if mime_type == "image/png" and raw.startswith(_PNG_SIGNATURE):
        kept = _png(raw)
    elif mime_type == "image/jpeg" and raw.startswith(b"\xff\xd8"):
        kept = _jpeg(raw)
    else:
        return ""
    return data if kept == raw else base64.b64encode(kept).decode()


def _png(raw: bytes) -> bytes:
    kept, at = [raw[:8]], 8
    while at + 12 <= len(raw):
        (length,) = struct.unpack(">I", raw[at : at + 4])
        end = at + 12 + length
        if raw[at + 4 : at + 8] not in _PNG_TEXT:
            kept.append(raw[at:end])
        at = end
    return b"".join(kept)


def _jpeg(raw: bytes) -> bytes:
    kept, at = [raw[:2]], 2
    while at + 4 <= len(raw) and raw[at] == 0xFF:
        marker = raw[at + 1]
        if marker == 0xDA:  # start of scan: the entropy-coded data and the rest follow
            break
        (length,) = struct.unpack(">H", raw[at + 2 : at + 4])
        if marker not in _JPEG_TEXT:
            kept.append(raw[at : at + 2 + length])
        at += 2 + length
    kept.append(raw[at:])
    return b"".join(kept)
