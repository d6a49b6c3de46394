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
    if sop_class.startswith(SECONDARY_CAPTURE):
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
_TEXT_CHUNKS: Final = frozenset({b"tEXt", b"iTXt", b"zTXt", b"eXIf"})


def png_without_text(data: str) -> str:
    """A base64 PNG without its text and Exif chunks (our renderer writes none; this makes sure)."""
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return ""
    if not raw.startswith(_PNG_SIGNATURE):
        return ""  # not a PNG: nothing else is ever shown
    kept, at = [raw[:8]], 8
    while at + 12 <= len(raw):
        (length,) = struct.unpack(">I", raw[at : at + 4])
        end = at + 12 + length
        if raw[at + 4 : at + 8] not in _TEXT_CHUNKS:
            kept.append(raw[at:end])
        at = end
    joined = b"".join(kept)
    return data if joined == raw else base64.b64encode(joined).decode()
