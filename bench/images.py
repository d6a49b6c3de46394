"""The bench's image for render_image: a 512x512 CT with pixel data, in the study of the big series.

The test data set's instances carry no pixels. This one is a CT phantom (water body, lungs, a
bone ring) with noise, as a scanner's slice has: a flat phantom would make the PNG encoders'
work unrealistically easy, for the service and for dcmj2pnm alike.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID

SIZE = 512
WINDOW = (40.0, 400.0)  # centre, width: soft tissue, stored in the instance and asked for by every render
NOISE_HU = 20.0
SEED = 512


@dataclass(frozen=True)
class ImageKeys:
    """The three UIDs that name one instance."""

    study: str
    series: str
    sop: str


def hounsfield(size: int = SIZE) -> np.ndarray:
    """The phantom in Hounsfield units (air -1000, lung -800, water 0, bone +1000), plus noise."""
    y, x = np.mgrid[0:size, 0:size] / size - 0.5
    hu = np.full((size, size), -1000.0)
    hu[(x / 0.45) ** 2 + (y / 0.35) ** 2 <= 1] = 0
    for centre in (-0.18, 0.18):
        hu[((x - centre) / 0.12) ** 2 + (y / 0.2) ** 2 <= 1] = -800
    radius = x**2 + (y + 0.2) ** 2
    hu[(radius <= 0.06**2) & (radius >= 0.035**2)] = 1000
    hu += np.random.default_rng(SEED).normal(0.0, NOISE_HU, hu.shape)
    return hu


def write_ct(template: Dataset, series_uid: str, path: Path) -> ImageKeys:
    """Save a copy of `template` (a CT of the study) as a one-instance series holding the phantom."""
    ds = copy.deepcopy(template)  # the template stays as it was
    ds.file_meta = FileMetaDataset(template.file_meta)
    sop_uid = f"{series_uid}.1"
    ds.SeriesInstanceUID = UID(series_uid)
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = UID(sop_uid)
    ds.SeriesNumber, ds.InstanceNumber = series_uid.rsplit(".", 1)[1], 1
    ds.SeriesDescription = f"BENCH CT {SIZE}"
    ds.Rows = ds.Columns = SIZE
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
    ds.WindowCenter, ds.WindowWidth = WINDOW
    ds.PixelSpacing = [0.7, 0.7]
    ds.PixelData = np.clip(np.rint(hounsfield() + 1024), 0, 4095).astype(np.uint16).tobytes()
    ds["PixelData"].VR = "OW"
    ds.save_as(path, enforce_file_format=True)
    return ImageKeys(str(ds.StudyInstanceUID), series_uid, sop_uid)
