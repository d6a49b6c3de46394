"""One frame of a multi-frame instance as the display pipeline needs it: functional groups flattened.

Enhanced objects (Enhanced CT, MR, PET, and most multi-frame classes since) keep each frame's
rescale, window, pixel spacing and position in Functional Group Macros (PS3.3 C.7.6.16): in the
Shared Functional Groups Sequence for what all frames share, and in the frame's item of the
Per-frame Functional Groups Sequence for what differs. A macro is a sequence with one item
holding the attributes a classic instance keeps at the top level (Pixel Value Transformation:
RescaleIntercept, RescaleSlope, RescaleType; Frame VOI LUT: WindowCenter, WindowWidth, their
explanation and VOILUTFunction; Pixel Measures: PixelSpacing; Frame Content: the frame's place).

`frame_view` lays them over the top level, per-frame over shared over top level, so that the
rest of the pipeline (pydicom's modality LUT and windowing) reads one frame's values where it
reads a classic instance's, and says where its rescale and window came from.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Final

from pydicom.dataset import Dataset

from dicom_mcp.reading.attributes import DATASET_ERRORS, items

TOP: Final = "top level"
SHARED: Final = "shared functional groups"
PER_FRAME: Final = "per-frame functional groups"
# Which attributes decide each step, to say where that step's values came from.
RESCALE: Final = ("RescaleIntercept", "RescaleSlope")
WINDOW: Final = ("WindowCenter", "WindowWidth")
# The attributes of the Frame Content macro that say what a frame is, as the result names them.
CONTENT: Final = {
    "StackID": "stack_id",
    "InStackPositionNumber": "in_stack_position",
    "TemporalPositionIndex": "temporal_position",
    "DimensionIndexValues": "dimension_index",
}


@dataclass
class FrameView:
    """A frame's dataset (top level with its functional groups laid over) and where values came from."""

    ds: Dataset
    sources: dict[str, str] = field(default_factory=dict)  # keyword -> TOP, SHARED or PER_FRAME
    content: dict[str, Any] = field(default_factory=dict)  # what the frame is (CONTENT's names)

    def source(self, keywords: tuple[str, ...]) -> str:
        """Where the first of `keywords` present came from (TOP when none was laid over)."""
        return next((self.sources[k] for k in keywords if k in self.sources), TOP)


def frame_view(ds: Dataset, index: int) -> FrameView:
    """Frame `index` (from 0) of `ds`, its functional groups laid over the top level.

    A classic instance (no functional groups) comes back as it is, for every frame.
    """
    shared = items(ds, "SharedFunctionalGroupsSequence")[:1]
    per_frame = items(ds, "PerFrameFunctionalGroupsSequence")
    if not shared and not per_frame:
        return FrameView(ds)
    view = copy.copy(ds)  # the elements (pixel data included) are shared, not copied...
    view._dict = dict(ds._dict)  # ...but laying over one must not change the instance itself
    found = FrameView(view)
    own = per_frame[index : index + 1] if 0 <= index < len(per_frame) else []
    for where, groups in ((SHARED, shared), (PER_FRAME, own)):
        for group in groups:
            _lay_over(view, group, where, found)
    return found


def _lay_over(view: Dataset, group: Dataset, where: str, found: FrameView) -> None:
    """Copy each macro's first item's attributes onto `view` (the Frame Content macro's are noted)."""
    try:
        macros = [element for element in group if element.VR == "SQ"]
    except DATASET_ERRORS:
        return
    for macro in macros:
        try:
            first = macro.value[0] if macro.value else None
        except DATASET_ERRORS:
            continue
        if first is None:
            continue
        for element in first:
            try:
                keyword = element.keyword
                if keyword in CONTENT:
                    found.content[CONTENT[keyword]] = _plain(element.value)
                if not keyword or (
                    element.VR == "SQ" and keyword not in ("VOILUTSequence", "ModalityLUTSequence")
                ):
                    continue
                view[element.tag] = element
                found.sources[keyword] = where
            except DATASET_ERRORS:
                continue


def _plain(value: Any) -> Any:
    """A JSON-friendly value: numbers stay numbers, multi-values become lists."""
    if isinstance(value, str | int | float) or value is None:
        return value
    try:
        return [int(v) if float(v).is_integer() else float(v) for v in value]
    except (TypeError, ValueError):
        return str(value)
