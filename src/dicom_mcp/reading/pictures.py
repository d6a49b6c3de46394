"""One instance as a small picture for the viewer: PNG when it fits, else JPEG, within a byte cap.

Rendering is `reading.image.render` (the display pipeline render_image uses). PNG keeps the grey
levels exact; a picture whose PNG would pass the cap (noise, colour, a large size) is sent as
JPEG at the first quality that fits. Pure: no I/O, no MCP.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, Final

from PIL import Image
from pydicom.dataset import Dataset

from dicom_mcp.errors import NotRenderable
from dicom_mcp.reading.image import render

JPEG_QUALITIES: Final = (90, 80, 65, 50)


@dataclass(frozen=True)
class Picture:
    data: bytes
    mime_type: str
    summary: dict[str, Any]


def picture(
    ds: Dataset,
    *,
    center: float | None,
    width: float | None,
    max_size: int,
    max_pixels: int,
    pixels_left: int | None = None,
    max_bytes: int,
) -> Picture:
    """Frame 1 of `ds` through the display pipeline, as PNG or JPEG of at most `max_bytes`.

    Raises:
        NotRenderable: the instance cannot be shown, or not within `max_bytes`.
    """
    if pixels_left is not None:
        rows, columns = int(ds.get("Rows") or 0), int(ds.get("Columns") or 0)
        if rows * columns > pixels_left:
            raise NotRenderable(
                f"this call's budget of decoded pixels (DICOM_MCP_RENDER_MAX_PIXELS) has {pixels_left} "
                f"left, fewer than this {columns}x{rows} frame: ask for fewer frames at once"
            )
    rendered = render(ds, center=center, width=width, max_size=max_size, max_pixels=max_pixels)
    if len(rendered.png) <= max_bytes:
        return Picture(rendered.png, "image/png", rendered.summary)
    image = Image.open(io.BytesIO(rendered.png))
    for quality in JPEG_QUALITIES:
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=quality)
        if out.tell() <= max_bytes:
            return Picture(out.getvalue(), "image/jpeg", rendered.summary)
    raise NotRenderable(
        f"the picture does not fit in {max_bytes} bytes, even as JPEG; ask for a smaller size"
    )
