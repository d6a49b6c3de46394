"""Frames of an instance as small pictures for the viewer: PNG when it fits, else JPEG, within caps.

Rendering is `reading.image.render` (the display pipeline render_image uses). PNG keeps the grey
levels exact; a picture whose PNG would pass the cap (noise, colour, a large size) is sent as
JPEG at the first quality that fits. `frame_pictures` renders a window of frames of one parsed
instance in one go, so a multi-frame instance is retrieved once per window, not once per frame;
`cine` says how long each frame shows in a cine. Pure: no I/O, no MCP.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from PIL import Image
from pydicom.dataset import Dataset
from pydicom.tag import Tag

from dicom_mcp.errors import NotRenderable
from dicom_mcp.reading.image import render

JPEG_QUALITIES: Final = (90, 80, 65, 50)
FRAME_TIME: Final = Tag("FrameTime")  # (0018,1063)
FRAME_TIME_VECTOR: Final = Tag("FrameTimeVector")  # (0018,1065)
MAX_FRAME_TIME_MS: Final = 60_000.0  # a frame shown longer than a minute is no cine

Timing = Literal["frame time", "frame time vector", "cine rate"]


@dataclass(frozen=True)
class Picture:
    data: bytes
    mime_type: str
    summary: dict[str, Any]


@dataclass(frozen=True)
class FramePicture:
    """One frame of a window (numbered from 1): its picture, or why it has none."""

    frame: int
    picture: Picture | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Cine:
    """How long each frame shows in a cine (milliseconds, frame 1 first), and where that was found."""

    source: Timing
    durations: tuple[float, ...]

    def duration(self, frame: int) -> float:
        return self.durations[min(frame, len(self.durations)) - 1]


def picture(
    ds: Dataset,
    *,
    frame: int = 1,
    center: float | None,
    width: float | None,
    max_size: int,
    max_pixels: int,
    pixels_left: int | None = None,
    max_bytes: int,
) -> Picture:
    """Frame `frame` of `ds` through the display pipeline, as PNG or JPEG of at most `max_bytes`.

    Raises:
        NotRenderable: the instance cannot be shown, or not within `max_bytes`.
    """
    if pixels_left is not None and (spent := _spent(ds, pixels_left)) is not None:
        raise NotRenderable(spent)
    rendered = render(ds, frame=frame, center=center, width=width, max_size=max_size, max_pixels=max_pixels)
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


def frame_count(ds: Dataset) -> int:
    """Number of Frames, at least 1."""
    return max(int(ds.get("NumberOfFrames") or 1), 1)


def frame_pictures(
    ds: Dataset,
    frames: Sequence[int],
    *,
    center: float | None,
    width: float | None,
    max_size: int,
    max_pixels: int,
    pixels_left: int,
    max_bytes: int,
    max_total: int,
) -> list[FramePicture]:
    """The `frames` of `ds` that exist, in order, while their pictures fit in `max_total` bytes.

    Each frame spends its pixels from `pixels_left`; a frame that cannot be shown says why and
    the next is tried, but once the pixels are spent the window ends there. The first picture
    is kept whatever its size, as the series window does.
    """
    shown: list[FramePicture] = []
    used, left = 0, pixels_left
    size = int(ds.get("Rows") or 0) * int(ds.get("Columns") or 0)
    for frame in (f for f in frames if 1 <= f <= frame_count(ds)):
        if (spent := _spent(ds, left)) is not None:
            if not shown:  # nothing at all: say why; else the window just ends here
                shown.append(FramePicture(frame, reason=spent))
            break
        try:
            made = picture(
                ds, frame=frame, center=center, width=width, max_size=max_size, max_pixels=max_pixels,
                max_bytes=max_bytes,
            )  # fmt: skip
        except NotRenderable as exc:
            shown.append(FramePicture(frame, reason=str(exc)))
            continue
        if any(s.picture for s in shown) and used + len(made.data) > max_total:
            break
        used += len(made.data)
        left -= size
        shown.append(FramePicture(frame, made))
    return shown


def _spent(ds: Dataset, pixels_left: int) -> str | None:
    """Why a frame of `ds` may not be decoded with `pixels_left` of the call's budget, if so."""
    rows, columns = int(ds.get("Rows") or 0), int(ds.get("Columns") or 0)
    if rows * columns <= pixels_left:
        return None
    return (
        f"this call's budget of decoded pixels (DICOM_MCP_RENDER_MAX_PIXELS) has {pixels_left} "
        f"left, fewer than this {columns}x{rows} frame: ask for fewer frames at once"
    )


def cine(ds: Dataset) -> Cine | None:
    """Each frame's time in a cine: from the attribute the Frame Increment Pointer names, else
    Frame Time, Frame Time Vector or Cine Rate (PS3.3 C.7.6.5); None for one frame or no rate."""
    frames = frame_count(ds)
    if frames < 2:
        return None
    pointer = _value(ds, "FrameIncrementPointer")
    pointed = [Tag(t) for t in (pointer if isinstance(pointer, Sequence) else [pointer]) if t is not None]
    order = (
        [FRAME_TIME_VECTOR, FRAME_TIME] if FRAME_TIME_VECTOR in pointed else [FRAME_TIME, FRAME_TIME_VECTOR]
    )
    for tag in order:
        timing = _vector(ds, frames) if tag == FRAME_TIME_VECTOR else _frame_time(ds, frames)
        if timing is not None:
            return timing
    rate = _positive(_value(ds, "CineRate"))
    duration = _positive(1000.0 / rate) if rate is not None else None
    return Cine("cine rate", (duration,) * frames) if duration is not None else None


def _frame_time(ds: Dataset, frames: int) -> Cine | None:
    value = _positive(_value(ds, "FrameTime"))
    return Cine("frame time", (value,) * frames) if value is not None else None


def _vector(ds: Dataset, frames: int) -> Cine | None:
    """Frame Time Vector holds the time from the previous frame (0 for the first): a frame shows
    until the next one's time; the last, as long as the one before it."""
    raw = _value(ds, "FrameTimeVector")
    values = list(raw) if isinstance(raw, Sequence) and not isinstance(raw, str) else [raw]
    if len(values) != frames:
        return None
    increments = [_positive(v) for v in values[1:]]
    if any(i is None for i in increments):
        return None
    durations = [i for i in increments if i is not None]
    return Cine("frame time vector", (*durations, durations[-1]))


def _value(ds: Dataset, keyword: str) -> Any:
    """An attribute's value, or None when it cannot be read as its VR says (a cine is optional)."""
    try:
        return ds.get(keyword)
    except (ValueError, TypeError, KeyError, OverflowError):
        return None


def _positive(value: Any) -> float | None:
    """A time or rate from the instance, if it is a number a cine can use."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and 0 < number <= MAX_FRAME_TIME_MS else None
