"""Image instances of the sample data set: a modality's header, a phantom's pixels, stored compressed
where the plan says so (RLE and JPEG-LS, lossless, through pydicom's encoders)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian

from dicom_mcp.demo.data import phantoms
from dicom_mcp.demo.data.plan import (
    CR_LAT,
    CR_PA,
    CT_CHEST,
    CT_HEAD,
    MR_T1,
    MR_T2,
    US_CINE,
    US_STILL,
    SeriesSpec,
    StudySpec,
)

CT_IMAGE: Final = "1.2.840.10008.5.1.4.1.1.2"
MR_IMAGE: Final = "1.2.840.10008.5.1.4.1.1.4"
CR_IMAGE: Final = "1.2.840.10008.5.1.4.1.1.1"
US_IMAGE: Final = "1.2.840.10008.5.1.4.1.1.6.1"
US_MULTIFRAME: Final = "1.2.840.10008.5.1.4.1.1.3.1"
SLICE_MM: Final = 5.0

SOP_CLASS: Final = {
    CT_CHEST: CT_IMAGE,
    CT_HEAD: CT_IMAGE,
    MR_T1: MR_IMAGE,
    MR_T2: MR_IMAGE,
    CR_PA: CR_IMAGE,
    CR_LAT: CR_IMAGE,
    US_STILL: US_IMAGE,
    US_CINE: US_MULTIFRAME,
}


def fill_image(ds: Dataset, study: StudySpec, series: SeriesSpec, number: int) -> None:
    """Add the equipment, geometry and pixel data of image `number` (from 1) of `series` to `ds`."""
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.AcquisitionNumber = 1
    ds.AcquisitionDate = ds.ContentDate = study.date
    ds.AcquisitionTime = ds.ContentTime = study.time
    if series.modality in ("CT", "MR"):
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.PatientPosition = "HFS"
        _slice_geometry(ds, number)
    _FILL[series.content](ds, study, series, number)
    if series.syntax != ExplicitVRLittleEndian:
        ds.compress(series.syntax, generate_instance_uid=False)


def _ct(ds: Dataset, study: StudySpec, series: SeriesSpec, number: int) -> None:
    chest = series.content == CT_CHEST
    index = number - 1
    hu = (
        phantoms.chest_ct(index, series.count, study.nodule_mm)
        if chest
        else phantoms.head_ct(index, series.count)
    )
    ds.KVP, ds.ConvolutionKernel = 120, "B40f" if chest else "H30s"
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = -1024, 1, "HU"
    ds.PixelSpacing = [phantoms.CT_SPACING, phantoms.CT_SPACING]
    if chest:
        ds.WindowCenter, ds.WindowWidth = [40, -600], [400, 1500]
        ds.WindowCenterWidthExplanation = ["MEDIASTINUM", "LUNG"]
    else:
        ds.WindowCenter, ds.WindowWidth, ds.WindowCenterWidthExplanation = 40, 80, "BRAIN"
    _grey(ds, (hu.astype(np.int32) + 1024).astype(np.uint16), bits=12)


def _mr(ds: Dataset, study: StudySpec, series: SeriesSpec, number: int) -> None:
    weighting = "T1" if series.content == MR_T1 else "T2"
    ds.ScanningSequence, ds.SequenceVariant = "SE", "NONE"
    ds.RepetitionTime, ds.EchoTime = (500, 15) if weighting == "T1" else (4000, 100)
    ds.MagneticFieldStrength = 1.5
    ds.PixelSpacing = [0.9, 0.9]
    ds.WindowCenter, ds.WindowWidth = (800, 1600) if weighting == "T1" else (1000, 2000)
    _grey(ds, phantoms.brain_mr(number - 1, series.count, weighting), bits=12)


def _cr(ds: Dataset, study: StudySpec, series: SeriesSpec, number: int) -> None:
    pa = series.content == CR_PA
    ds.ViewPosition = "PA" if pa else "LL"
    ds.ImagerPixelSpacing = ds.PixelSpacing = [0.9, 0.9]
    ds.WindowCenter, ds.WindowWidth = 1500, 3000
    _grey(ds, phantoms.chest_xray("PA" if pa else "LAT"), bits=12)


def _us(ds: Dataset, study: StudySpec, series: SeriesSpec, number: int) -> None:
    frames = [phantoms.liver_us(f, series.frames, number * 101) for f in range(series.frames)]
    ds.PhysicalDeltaX = ds.PhysicalDeltaY = 0.03  # cm per pixel, as ultrasound says it
    if series.content == US_CINE:
        ds.NumberOfFrames, ds.FrameTime, ds.CineRate = series.frames, 66.7, 15
        ds.FrameIncrementPointer = 0x00181063  # Frame Time
        _grey(ds, np.stack(frames), bits=8)
    else:
        _grey(ds, frames[0], bits=8)


Fill = Callable[[Dataset, StudySpec, SeriesSpec, int], None]
_FILL: Final[dict[str, Fill]] = {
    CT_CHEST: _ct,
    CT_HEAD: _ct,
    MR_T1: _mr,
    MR_T2: _mr,
    CR_PA: _cr,
    CR_LAT: _cr,
    US_STILL: _us,
    US_CINE: _us,
}


def _slice_geometry(ds: Dataset, number: int) -> None:
    z = -SLICE_MM * number
    ds.SliceThickness, ds.SpacingBetweenSlices = SLICE_MM, SLICE_MM
    ds.ImagePositionPatient = [-179.2, -179.2, z]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.SliceLocation = z
    ds.FrameOfReferenceUID = f"{ds.SeriesInstanceUID}.0"
    ds.PositionReferenceIndicator = ""


def _grey(ds: Dataset, pixels: npt.NDArray[np.integer], bits: int) -> None:
    """Set the Image Pixel module for unsigned MONOCHROME2 pixels of `bits` bits stored."""
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns = pixels.shape[-2:]
    ds.BitsAllocated = 8 if bits <= 8 else 16
    ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits - 1, 0
    ds.PixelData = pixels.astype("<u1" if bits <= 8 else "<u2").tobytes()
