"""Enhanced objects: each frame's rescale and window come from its functional groups.

The right grey level of each band follows from the rescale (shared functional groups), the
frame's own window (per-frame functional groups) and the window formula of PS3.3 C.11.2.1.2:
    y = ((x - (c - 0.5)) / (w - 1) + 0.5) * 255, clipped to 0..255,
so the answers below are computed from the numbers the generator used, never from the code.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from pydicom.uid import UID, ExplicitVRLittleEndian, JPEGLSLossless, RLELossless

from dicom_mcp.reading.groups import PER_FRAME, SHARED, TOP, frame_view
from dicom_mcp.reading.image import render
from testbeds import enhanced, images


def grey(value: float, center: float, width: float) -> int:
    """The 8-bit grey level of `value` in the window (center, width), by the standard's formula."""
    y = ((value - (center - 0.5)) / (width - 1) + 0.5) * 255
    return int(np.clip(np.rint(y), 0, 255))


def bands(png: bytes) -> list[int]:
    arr = np.asarray(Image.open(io.BytesIO(png)))
    row = arr.shape[0] // 2
    return [int(arr[row, column]) for column in (16, 48, 80)]


@pytest.mark.parametrize(
    "syntax", [ExplicitVRLittleEndian, RLELossless, JPEGLSLossless], ids=lambda s: UID(s).name
)
@pytest.mark.parametrize("frame", [1, 2, 3])
def test_each_enhanced_ct_frame_is_shown_in_hounsfield_units_in_its_own_window(
    frame: int, syntax: UID
) -> None:
    ds = images.encoded(enhanced.enhanced_ct(), syntax)
    rendered = render(ds, frame=frame)
    center, width = enhanced.CT_WINDOWS[frame - 1]
    hu = [
        -1000 + enhanced.STEP * (frame - 1),
        enhanced.STEP * (frame - 1),
        1000 + enhanced.STEP * (frame - 1),
    ]
    assert bands(rendered.png) == [grey(v, center, width) for v in hu]
    summary = rendered.summary
    assert summary["window"] == {"center": center, "width": width, "source": f"instance ({PER_FRAME})"}
    assert summary["rescale"] == {"intercept": -1024.0, "slope": 1.0, "type": "HU", "source": SHARED}
    assert summary["frame_content"] == {
        "stack_id": "1",
        "in_stack_position": frame,
        "temporal_position": 1,
        "dimension_index": [1, frame],
    }
    assert (summary["frame"], summary["number_of_frames"]) == (frame, 3)


def test_an_enhanced_ct_renders_in_the_same_window_as_its_classic_equivalent() -> None:
    enhanced_png = render(enhanced.enhanced_ct(), frame=1).png
    classic = render(enhanced.classic_ct())
    assert classic.summary["rescale"]["source"] == TOP
    assert np.array_equal(
        np.asarray(Image.open(io.BytesIO(enhanced_png))), np.asarray(Image.open(io.BytesIO(classic.png)))
    )


def test_a_callers_window_applies_to_the_frames_hounsfield_units() -> None:
    # The case: 40/400 must show water (0 HU) mid-grey, not white (stored value 1024).
    rendered = render(enhanced.enhanced_ct(), frame=1, center=40, width=400)
    assert bands(rendered.png) == [grey(-1000, 40, 400), grey(0, 40, 400), grey(1000, 40, 400)]
    assert rendered.summary["window"]["source"] == "call"


@pytest.mark.parametrize("frame", [1, 2])
def test_each_enhanced_mr_frame_has_its_own_window(frame: int) -> None:
    rendered = render(enhanced.enhanced_mr(), frame=frame)
    center, width = enhanced.MR_WINDOWS[frame - 1]
    step = enhanced.STEP * (frame - 1)
    assert bands(rendered.png) == [grey(v + step, center, width) for v in (200, 600, 1000)]
    assert rendered.summary["rescale"]["source"] == "none"


def test_a_classic_instance_is_its_own_frame_view() -> None:
    ds = images.ct()
    view = frame_view(ds, 0)
    assert view.ds is ds and view.sources == {} and view.content == {}


def test_per_frame_groups_win_over_shared_ones_and_both_over_the_top_level() -> None:
    ds = enhanced.enhanced_ct()
    ds.WindowCenter, ds.WindowWidth = 1, 2  # a top-level window the groups must override
    ds.SharedFunctionalGroupsSequence[0].FrameVOILUTSequence = [enhanced.item(WindowCenter=7, WindowWidth=8)]
    view = frame_view(ds, 1)
    assert (float(view.ds.WindowCenter), float(view.ds.WindowWidth)) == enhanced.CT_WINDOWS[1]
    assert view.sources["WindowCenter"] == PER_FRAME
    assert float(ds.WindowCenter) == 1  # the instance itself is left as it was
