"""A header read without the instance's pixel data: the bulk-data note, and a note saying so.

An instance too large for the byte cap is read for its header only (`Backend.get`'s
`header_only`): over DIMSE up to its top-level pixel data, whose element header says its VR and
length; over DICOMweb from its WADO-RS metadata, which refers to bulk data without its size. The
header made from what came (`header.py`) then gets the pixel data's note as a whole instance's
header would show it (`{"bulk_data": true, "vr", "bytes"}`, `bytes` null where not known), and
`note` says the pixel data was not retrieved.
"""

from __future__ import annotations

from typing import Any, Final

from dicom_mcp.model.instances import PixelsLeft
from dicom_mcp.model.pixelstart import PIXEL_TAGS

PIXEL_KEYWORDS: Final = tuple(PIXEL_TAGS.values())
_WHY: Final = "the instance is larger than the byte cap per call (DICOM_MCP_MAX_RETRIEVE_BYTES)"
CUT_NOTE: Final = f"pixel data not retrieved: {_WHY}; its header was read up to the pixel data"
METADATA_NOTE: Final = (
    f"pixel data not retrieved: {_WHY}; its header was read from the WADO-RS metadata, which gives "
    "no sizes of bulk data"
)
METADATA_NO_PIXELS_NOTE: Final = (
    f"bulk data not retrieved: {_WHY}; its header was read from the WADO-RS metadata, which gives "
    "no sizes of bulk data"
)
_FLOAT_VRS: Final = {"FloatPixelData": "OF", "DoubleFloatPixelData": "OD"}


def without_pixels(made: dict[str, Any], left: PixelsLeft) -> dict[str, Any]:
    """`made` (a header from `header.header`) completed for an instance read without its pixel data.

    A header that holds its pixel data came from a whole instance (the PACS sent another one
    too, say): it is returned as it is.
    """
    attributes: dict[str, Any] = dict(made.get("attributes") or {})
    present = [keyword for keyword in PIXEL_KEYWORDS if keyword in attributes]
    if left.keyword is not None:  # cut before its pixel data: the dataset holds none
        if present:
            return made
        vr = left.vr or _FLOAT_VRS.get(left.keyword) or _implicit_vr(attributes)
        attributes[left.keyword] = {"bulk_data": True, "vr": vr, "bytes": left.length}
        note = CUT_NOTE
    else:  # from the metadata: every bulk value was a reference, of unknown size
        attributes = _sizes_unknown(attributes)
        note = METADATA_NOTE if present else METADATA_NO_PIXELS_NOTE
    return {**made, "attributes": attributes, "note": note}


def _implicit_vr(attributes: dict[str, Any]) -> str:
    """Pixel Data's VR in implicit VR, as pydicom resolves "OB or OW" for a whole instance."""
    bits = attributes.get("BitsAllocated")
    return "OW" if isinstance(bits, int) and bits > 8 else "OB"


def _sizes_unknown(value: Any) -> Any:
    """Every bulk-data note of size 0 (a value by reference) given an unknown size, at any depth."""
    if isinstance(value, list):
        return [_sizes_unknown(item) for item in value]
    if not isinstance(value, dict):
        return value
    if value.get("bulk_data") is True and value.get("bytes") == 0:
        return {**value, "bytes": None}
    return {key: _sizes_unknown(item) for key, item in value.items()}
