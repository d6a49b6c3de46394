"""One frame of an instance as a PNG, through DICOM's display pipeline (PS3.3 C.11, C.7.6.3).

Decoding and every step of the pipeline are pydicom's (`pydicom.pixels`): the decoders (with the
pylibjpeg, openjpeg, RLE and JPEG-LS plugins), the modality LUT, the VOI LUT or window, colour
conversion and palettes. What is ours is only the order of the steps, the choice of window, and
the last mapping to 8 bits. Pure: no I/O beyond memory, no MCP.
"""

from __future__ import annotations

import copy
import io
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.encaps import get_frame
from pydicom.multival import MultiValue
from pydicom.pixels.processing import apply_color_lut, apply_modality_lut, apply_voi_lut, apply_windowing
from pydicom.pixels.utils import pixel_array
from pydicom.uid import UID

from dicom_mcp.errors import NotRenderable
from dicom_mcp.reading.codestream import declared_size
from dicom_mcp.reading.groups import RESCALE, TOP, WINDOW, FrameView, frame_view

MONOCHROME: Final = ("MONOCHROME1", "MONOCHROME2")


@dataclass(frozen=True)
class Window:
    """The VOI window applied, and where it came from: "call", "instance" (window or VOI LUT) or "range"."""

    center: float | None
    width: float | None
    source: str


@dataclass(frozen=True)
class Rendered:
    png: bytes
    summary: dict[str, Any]


def render(
    ds: Dataset,
    *,
    frame: int = 1,
    center: float | None = None,
    width: float | None = None,
    max_size: int = 512,
    max_pixels: int = 40_000_000,
) -> Rendered:
    """Frame `frame` (1-based) of `ds` as a PNG no larger than `max_size` on its longer side.

    Raises:
        NotRenderable: see the class.
    """
    rows, columns, frames = _geometry(ds, max_pixels)
    if not 1 <= frame <= frames:
        raise NotRenderable(
            f"frame {frame} does not exist: the instance has {frames} frame(s), numbered from 1"
        )
    _check_codestream(ds, frame - 1, frames, rows, columns)
    arr = _decode(ds, frame - 1 if frames > 1 else None)
    view = frame_view(ds, frame - 1)  # this frame's rescale, window and spacing, where they are kept
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2"))
    rescale: dict[str, Any] | None = None
    if photometric in MONOCHROME:
        pixels, window = _grey(arr, view, center, width)
        rescale = _rescale(view)
    else:
        pixels, window = _colour(arr, ds, photometric), Window(None, None, "not applicable (colour)")
    image = Image.fromarray(pixels, mode="L" if pixels.ndim == 2 else "RGB")
    image = image.resize(_display_size(view.ds, rows, columns, max_size), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="PNG")
    syntax = _syntax(ds)
    summary = {
        "rows": rows,
        "columns": columns,
        "number_of_frames": frames,
        "frame": frame,
        "photometric_interpretation": photometric,
        "window": {"center": window.center, "width": window.width, "source": window.source},
        "rescale": rescale,
        "frame_content": view.content or None,
        "transfer_syntax": UID(syntax).name if syntax else None,
        "output_size": {"width": image.width, "height": image.height},
        "png_bytes": out.tell(),
    }
    return Rendered(out.getvalue(), summary)


def _geometry(ds: Dataset, max_pixels: int) -> tuple[int, int, int]:
    if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
        what = UID(str(ds.get("SOPClassUID", ""))).name if ds.get("SOPClassUID") else "this instance"
        raise NotRenderable(f"{what} has no pixel data to show (use read_report for reports and documents)")
    rows, columns = int(ds.get("Rows") or 0), int(ds.get("Columns") or 0)
    try:
        frames = int(ds.get("NumberOfFrames") or 1)
    except (TypeError, ValueError):
        raise NotRenderable(
            "the instance's Number of Frames is not a whole number; it is not shown"
        ) from None
    if rows < 1 or columns < 1:
        raise NotRenderable("the instance declares no image size (Rows, Columns)")
    if rows * columns > max_pixels:
        raise NotRenderable(
            f"a {columns}x{rows} frame is larger than this server renders ({max_pixels} pixels)"
        )
    return rows, columns, max(frames, 1)


def _check_codestream(ds: Dataset, index: int, frames: int, rows: int, columns: int) -> None:
    """Refuse a compressed frame whose codestream declares another size than the instance's."""
    syntax = _syntax(ds)
    if not syntax or not UID(syntax).is_compressed or "PixelData" not in ds:
        return
    try:
        frame = get_frame(ds.PixelData, index, number_of_frames=frames)
    except (ValueError, TypeError, KeyError, IndexError, EOFError):
        return  # not encapsulated as a compressed syntax requires: the decoder will say so
    declared = declared_size(frame)
    if declared is not None and declared != (rows, columns):
        raise NotRenderable(
            f"the {UID(syntax).name} codestream declares {declared[1]}x{declared[0]} pixels, "
            f"but the instance {columns}x{rows}; it was not decoded"
        )


def _decode(ds: Dataset, index: int | None) -> np.ndarray:
    try:
        return np.asarray(pixel_array(ds, index=index))
    except (NotImplementedError, RuntimeError, ValueError) as exc:
        syntax = _syntax(ds)
        name = UID(syntax).name if syntax else "its transfer syntax"
        raise NotRenderable(f"the pixel data cannot be decoded ({name}: {type(exc).__name__})") from None


def _grey(
    arr: np.ndarray, view: FrameView, center: float | None, width: float | None
) -> tuple[np.ndarray, Window]:
    """Modality LUT, then the VOI (the call's window, the frame's, or the frame's range), then 8 bits."""
    ds = view.ds
    values = apply_modality_lut(arr, ds).astype(np.float64)
    if center is not None and width is not None:
        shown, window = _windowed(values, ds, center, width), Window(center, width, "call")
    elif "VOILUTSequence" in ds or ("WindowCenter" in ds and "WindowWidth" in ds):
        shown, window = _instance_voi(values, ds)
        where = view.source((*WINDOW, "VOILUTSequence"))
        if where != TOP:  # e.g. "instance (per-frame functional groups)"
            window = Window(window.center, window.width, f"{window.source.split(' (')[0]} ({where})")
    else:
        low, high = float(values.min()), float(values.max())
        middle, span = (low + high) / 2, max(high - low, 1.0)
        shown, window = _windowed(values, ds, middle, span, exact=True), Window(middle, span, "range")
    if ds.get("PhotometricInterpretation") == "MONOCHROME1":
        shown = 255.0 - shown
    return np.clip(np.rint(shown), 0, 255).astype(np.uint8), window


def _windowed(
    values: np.ndarray, ds: Dataset, center: float, width: float, *, exact: bool = False
) -> np.ndarray:
    """pydicom's windowing into 0..255: the output range follows BitsStored 8, unsigned, no rescale."""
    function = "LINEAR_EXACT" if exact else str(ds.get("VOILUTFunction", "LINEAR")).upper()
    window = Dataset()
    window.PhotometricInterpretation = "MONOCHROME2"
    window.BitsStored, window.PixelRepresentation = 8, 0
    window.WindowCenter, window.WindowWidth = center, max(width, 1.0)
    window.VOILUTFunction = function if function in ("LINEAR", "LINEAR_EXACT", "SIGMOID") else "LINEAR"
    return np.asarray(apply_windowing(values, window), dtype=np.float64)


def _rescale(view: FrameView) -> dict[str, Any]:
    """The rescale the modality LUT applied, and where it was kept."""
    ds = view.ds
    return {
        "intercept": float(ds.get("RescaleIntercept", 0) or 0),
        "slope": float(ds.get("RescaleSlope", 1) or 1),
        "type": str(ds.get("RescaleType") or "") or None,
        "source": view.source(RESCALE) if "RescaleSlope" in ds or "RescaleIntercept" in ds else "none",
    }


def _instance_voi(values: np.ndarray, ds: Dataset) -> tuple[np.ndarray, Window]:
    if "VOILUTSequence" in ds:
        lut = ds.VOILUTSequence[0]
        bits = int(lut.LUTDescriptor[2])
        shown = np.asarray(apply_voi_lut(values, ds, index=0, prefer_lut=True), dtype=np.float64)
        return shown * 255.0 / (2**bits - 1), Window(None, None, "instance (VOI LUT)")
    center, width = _first(ds.WindowCenter), _first(ds.WindowWidth)
    return _windowed(values, ds, center, width), Window(center, width, "instance")


def _first(value: Any) -> float:
    """The first of a multi-valued Window Center or Width (one per frame or per alternative)."""
    return float(value[0]) if isinstance(value, MultiValue | list | tuple) else float(value)


def _syntax(ds: Dataset) -> str | None:
    meta = getattr(ds, "file_meta", None)
    syntax = meta.get("TransferSyntaxUID") if meta is not None else None
    return str(syntax) if syntax else None


def _colour(arr: np.ndarray, ds: Dataset, photometric: str) -> np.ndarray:
    """RGB as decoded (YBR is converted by the decoder); a palette through its LUTs; 16-bit scaled to 8."""
    if photometric == "PALETTE COLOR":
        arr = apply_color_lut(arr, _palette_in_machine_order(ds))
    elif arr.ndim != 3 or arr.shape[-1] != 3:
        raise NotRenderable(f"photometric interpretation {photometric} is not shown by this server")
    if arr.dtype != np.uint8:
        top = (
            float(2 ** (8 * arr.dtype.itemsize) - 1)
            if photometric == "PALETTE COLOR"
            else float(2 ** int(ds.get("BitsStored", 8)) - 1)
        )
        arr = np.clip(np.rint(arr.astype(np.float64) * 255.0 / top), 0, 255).astype(np.uint8)
    return arr


# The plain LUT data only: pydicom reads segmented LUT data in the instance's own byte order.
_PALETTE_DATA: Final = tuple(
    f"{colour}PaletteColorLookupTableData" for colour in ("Red", "Green", "Blue", "Alpha")
)


def _palette_in_machine_order(ds: Dataset) -> Dataset:
    """`ds` with its 16-bit palette data little endian: pydicom's apply_color_lut reads the raw bytes
    in the machine's order, so a big-endian instance's colours would come out wrong."""
    syntax = _syntax(ds)
    if not syntax or UID(syntax).is_little_endian:
        return ds
    swapped = copy.copy(ds)
    swapped._dict = dict(ds._dict)  # the instance itself is left as it was
    for keyword in _PALETTE_DATA:
        data = ds.get(keyword)
        if isinstance(data, bytes) and len(data) % 2 == 0:
            setattr(swapped, keyword, np.frombuffer(data, ">u2").astype("<u2").tobytes())
    return swapped


def _display_size(ds: Dataset, rows: int, columns: int, max_size: int) -> tuple[int, int]:
    """Width and height with the pixels' aspect ratio kept, fitted into `max_size`, never enlarged."""
    ratio = _aspect(ds)  # height of a pixel / its width
    width, height = float(columns), float(rows)
    if ratio > 1:
        width /= ratio  # shrink rather than enlarge the other side
    elif ratio < 1:
        height *= ratio
    scale = min(1.0, max_size / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _aspect(ds: Dataset) -> float:
    try:
        if "PixelSpacing" in ds:
            row_spacing, column_spacing = (float(v) for v in ds.PixelSpacing[:2])
            return row_spacing / column_spacing if row_spacing > 0 and column_spacing > 0 else 1.0
        if "PixelAspectRatio" in ds:
            vertical, horizontal = (float(v) for v in ds.PixelAspectRatio[:2])
            return vertical / horizontal if vertical > 0 and horizontal > 0 else 1.0
    except (TypeError, ValueError):
        return 1.0
    return 1.0
