"""Generated enhanced multi-frame images whose correct display values follow from their numbers.

`enhanced_ct` keeps its rescale (-1024, HU) in the Shared Functional Groups and a different window
per frame in the Per-frame Functional Groups, as Enhanced CT scanners do; frame k's bands sit at
-1000, 0 and +1000 HU plus 100*k. `enhanced_mr` has no rescale and a window per frame. Both carry
a Frame Content macro per frame (Stack ID, In-Stack Position, Temporal Position). `classic_ct` is
frame 0 of `enhanced_ct` as a classic CT Image: the same values in the same window.
"""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from testbeds.images import CT_IMAGE, ROWS, _base, thirds

ENHANCED_CT = "1.2.840.10008.5.1.4.1.1.2.1"
ENHANCED_MR = "1.2.840.10008.5.1.4.1.1.4.1"
CT_WINDOWS = ((40.0, 400.0), (500.0, 2000.0), (-600.0, 1500.0))  # soft tissue, bone, lung
MR_WINDOWS = ((600.0, 1200.0), (300.0, 600.0))
STEP = 100  # HU (or MR units) added to frame k's bands


def item(**attributes: object) -> Dataset:
    item = Dataset()
    for keyword, value in attributes.items():
        setattr(item, keyword, value)
    return item


def multi_frame(base: Dataset, stored: list[np.ndarray], windows: tuple[tuple[float, float], ...]) -> Dataset:
    """`base` holding the `stored` frames, each with its window and its place in a stack."""
    base.NumberOfFrames = len(stored)
    base.PixelData = np.stack(stored).tobytes()
    base.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL", "NONE"]
    base.BurnedInAnnotation = "NO"
    per_frame = []
    for number, (center, width) in enumerate(windows, start=1):
        group = Dataset()
        group.FrameVOILUTSequence = Sequence([item(WindowCenter=center, WindowWidth=width)])
        group.FrameContentSequence = Sequence(
            [
                item(
                    StackID="1",
                    InStackPositionNumber=number,
                    TemporalPositionIndex=1,
                    DimensionIndexValues=[1, number],
                )
            ]
        )
        group.PlanePositionSequence = Sequence([item(ImagePositionPatient=[0.0, 0.0, 5.0 * number])])
        per_frame.append(group)
    base.PerFrameFunctionalGroupsSequence = Sequence(per_frame)
    return base


def enhanced_ct() -> Dataset:
    """Three frames; shared rescale -1024 (HU); windows CT_WINDOWS, one per frame."""
    ds = _base(ENHANCED_CT, "MONOCHROME2", name="enhancedct")
    ds.Modality = "CT"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    stored = [thirds(24 + STEP * k, 1024 + STEP * k, 2024 + STEP * k, np.uint16) for k in range(3)]
    return hounsfield_frames(ds, stored, CT_WINDOWS, spacing=0.5, thickness=5.0)


def hounsfield_frames(
    ds: Dataset,
    stored: list[np.ndarray],
    windows: tuple[tuple[float, float], ...],
    *,
    spacing: float,
    thickness: float,
) -> Dataset:
    """`ds` as an Enhanced CT scanner writes one: the rescale to HU (-1024) and the pixel measures
    in the Shared Functional Groups, a window per frame in the Per-frame ones."""
    shared = Dataset()
    shared.PixelValueTransformationSequence = Sequence(
        [item(RescaleIntercept=-1024, RescaleSlope=1, RescaleType="HU")]
    )
    shared.PixelMeasuresSequence = Sequence([item(PixelSpacing=[spacing, spacing], SliceThickness=thickness)])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    return multi_frame(ds, stored, windows)


def enhanced_mr() -> Dataset:
    """Two frames, no rescale; bands at 200, 600 and 1000 (+STEP*k); windows MR_WINDOWS."""
    ds = _base(ENHANCED_MR, "MONOCHROME2", name="enhancedmr")
    ds.Modality = "MR"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    shared = Dataset()
    shared.PixelMeasuresSequence = Sequence([item(PixelSpacing=[1.0, 1.0], SliceThickness=3.0)])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    stored = [thirds(200 + STEP * k, 600 + STEP * k, 1000 + STEP * k, np.uint16) for k in range(2)]
    return multi_frame(ds, stored, MR_WINDOWS)


def classic_ct() -> Dataset:
    """Frame 1 of `enhanced_ct` as a classic CT Image: rescale and window at the top level."""
    ds = _base(CT_IMAGE, "MONOCHROME2", name="classicct")
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleSlope, ds.RescaleIntercept, ds.RescaleType = 1, -1024, "HU"
    ds.WindowCenter, ds.WindowWidth = CT_WINDOWS[0]
    ds.PixelSpacing = [0.5, 0.5]
    ds.PixelData = thirds(24, 1024, 2024, np.uint16).tobytes()
    assert ds.Rows == ROWS
    return ds
