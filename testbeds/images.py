"""Generated images whose correct display values follow from their numbers alone.

Each maker returns a Dataset with pixel data in Explicit VR Little Endian; `encoded(ds, syntax)`
re-encodes it (RLE, JPEG-LS, JPEG 2000 by pydicom; baseline JPEG by Pillow). `write(ds, path)`
saves a Part 10 file for loading into a PACS. The right answers are in the tests, computed
from DICOM's formulas (PS3.3 C.11.2.1.2), never from the code under test.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    UID,
    ExplicitVRLittleEndian,
    JPEGBaseline8Bit,
    generate_uid,
)

UID_ROOT = "1.2.826.0.1.3680043.8.498.4243."
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
CR_IMAGE = "1.2.840.10008.5.1.4.1.1.1"
MULTIFRAME_GREY = "1.2.840.10008.5.1.4.1.1.7.3"  # Multi-frame Grayscale Word SC
ROWS, COLUMNS = 48, 96


def _base(sop_class: str, photometric: str, samples: int = 1, name: str = "image") -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = generate_uid(prefix=UID_ROOT)
    ds.file_meta.MediaStorageSOPClassUID = UID(sop_class)
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.PatientName, ds.PatientID = f"IMAGES^{name.upper()}", "IMG001"
    ds.StudyInstanceUID = f"{UID_ROOT}1"
    ds.SeriesInstanceUID = f"{UID_ROOT}2.{sum(ord(c) for c in name)}"
    ds.Modality = "CT" if sop_class == CT_IMAGE else "OT"
    ds.Rows, ds.Columns = ROWS, COLUMNS
    ds.SamplesPerPixel = samples
    ds.PhotometricInterpretation = photometric
    if samples > 1:
        ds.PlanarConfiguration = 0
    return ds


def thirds(low: int, middle: int, high: int, dtype: type) -> np.ndarray:
    """Three vertical bands: columns 0-31 `low`, 32-63 `middle`, 64-95 `high`."""
    arr: np.ndarray = np.empty((ROWS, COLUMNS), dtype=dtype)
    arr[:, :32], arr[:, 32:64], arr[:, 64:] = low, middle, high
    return arr


def ct() -> Dataset:
    """A CT, rescale -1024: bands at -1000, 0 and +1000 HU; window 40/400 in the instance."""
    ds = _base(CT_IMAGE, "MONOCHROME2", name="ct")
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
    ds.WindowCenter, ds.WindowWidth = 40, 400
    ds.PixelSpacing = [0.5, 0.5]
    ds.PixelData = thirds(24, 1024, 2024, np.uint16).tobytes()
    return ds


def phantom(size: int = 256) -> Dataset:
    """A CT phantom for pictures: a water body (0 HU) with two lungs (-800 HU) and a bone ring (+1000 HU)."""
    ds = ct()
    ds.Rows = ds.Columns = size
    y, x = np.mgrid[0:size, 0:size] / size - 0.5
    hu = np.full((size, size), -1000, np.int32)
    body = (x / 0.45) ** 2 + (y / 0.35) ** 2 <= 1
    hu[body] = 0
    for centre in (-0.18, 0.18):
        hu[((x - centre) / 0.12) ** 2 + (y / 0.2) ** 2 <= 1] = -800
    ring = (x**2 + (y + 0.2) ** 2 <= 0.06**2) & (x**2 + (y + 0.2) ** 2 >= 0.035**2)
    hu[ring] = 1000
    ds.PixelData = (hu + 1024).astype(np.uint16).tobytes()
    return ds


def monochrome1() -> Dataset:
    """MONOCHROME1 (white is low), 8-bit: bands 0, 128, 255, no window (the range is used)."""
    ds = _base(CR_IMAGE, "MONOCHROME1", name="mono1")
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = thirds(0, 128, 255, np.uint8).tobytes()
    return ds


def signed12() -> Dataset:
    """Signed 12-bit stored in 16: bands -2048, 0, 2047; window 0/4096."""
    ds = _base(SECONDARY_CAPTURE, "MONOCHROME2", name="signed")
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 1
    ds.WindowCenter, ds.WindowWidth = 0, 4096
    ds.PixelData = thirds(-2048, 0, 2047, np.int16).tobytes()
    return ds


def rgb() -> Dataset:
    """RGB, 8-bit: bands pure red, green, blue."""
    ds = _base(SECONDARY_CAPTURE, "RGB", samples=3, name="rgb")
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = rgb_bands().tobytes()
    return ds


def rgb_bands() -> np.ndarray:
    arr = np.zeros((ROWS, COLUMNS, 3), dtype=np.uint8)
    arr[:, :32, 0], arr[:, 32:64, 1], arr[:, 64:, 2] = 255, 255, 255
    return arr


def ybr_full_422() -> Dataset:
    """The RGB bands, stored as YBR_FULL_422 (pydicom converts and subsamples)."""
    ds = rgb()
    from pydicom.pixels.processing import convert_color_space  # noqa: PLC0415 - only this maker needs it

    ybr = convert_color_space(rgb_bands(), "RGB", "YBR_FULL")
    # 4:2:2 keeps every Y and one Cb, Cr per pair of columns: Y0 Y1 Cb Cr.
    pairs = ybr.reshape(ROWS, COLUMNS // 2, 2, 3)
    packed = np.stack([pairs[..., 0, 0], pairs[..., 1, 0], pairs[..., 0, 1], pairs[..., 0, 2]], axis=-1)
    ds.PhotometricInterpretation = "YBR_FULL_422"
    ds.PixelData = packed.astype(np.uint8).tobytes()
    return ds


def palette() -> Dataset:
    """PALETTE COLOR, 8-bit indices 0, 1, 2 into a 16-bit LUT: black, mid grey, white."""
    ds = _base(SECONDARY_CAPTURE, "PALETTE COLOR", name="palette")
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    for colour in ("Red", "Green", "Blue"):
        setattr(ds, f"{colour}PaletteColorLookupTableDescriptor", [3, 0, 16])
        setattr(ds, f"{colour}PaletteColorLookupTableData", np.array([0, 32896, 65535], np.uint16).tobytes())
    ds.PixelData = thirds(0, 1, 2, np.uint8).tobytes()
    return ds


def multiframe() -> Dataset:
    """Three frames, 16-bit unsigned: frame n is uniformly n * 1000; window 2000/4000."""
    ds = _base(MULTIFRAME_GREY, "MONOCHROME2", name="frames")
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.NumberOfFrames = 3
    ds.WindowCenter, ds.WindowWidth = 2000, 4000
    frames = np.stack([np.full((ROWS, COLUMNS), n * 1000, np.uint16) for n in (1, 2, 3)])
    ds.PixelData = frames.tobytes()
    return ds


def encoded(ds: Dataset, syntax: UID) -> Dataset:
    """A copy of `ds` with its pixel data in `syntax` (baseline JPEG through Pillow)."""
    copy = Dataset(ds)
    copy.file_meta = FileMetaDataset(ds.file_meta)
    copy.SOPInstanceUID = generate_uid(prefix=UID_ROOT)
    copy.file_meta.MediaStorageSOPInstanceUID = copy.SOPInstanceUID
    if syntax == JPEGBaseline8Bit:
        pixels = np.frombuffer(ds.PixelData, np.uint8).reshape(ROWS, COLUMNS)
        out = io.BytesIO()
        Image.fromarray(pixels, mode="L").save(out, format="JPEG", quality=95)
        copy.PixelData = encapsulate([out.getvalue()])
        copy["PixelData"].VR = "OB"
        copy.file_meta.TransferSyntaxUID = syntax
        return copy
    if syntax != ExplicitVRLittleEndian:
        copy.compress(syntax)
    return copy


def write(ds: Dataset, path: Path) -> Path:
    ds.save_as(path, enforce_file_format=True)
    return path
