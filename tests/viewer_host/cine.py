"""A generated study of multi-frame instances for the viewer's tests: each frame tells itself apart.

Series 1, US: one 20-frame RGB ultrasound cine (US Multi-frame Image Storage), Frame Time 40 ms.
Frame k (from 0) is filled with us_colour(k), with a white square whose column moves with k.
Series 2, XA: one 16-frame MONOCHROME2 angiography run, window XA_WINDOW in the instance, timed
by a Frame Time Vector (XA_INCREMENTS). Frame k is 0 outside a central square of xa_value(k).
Series 3, US "MIXED": a single-frame still (STILL_COLOUR), then a MIXED_FRAMES-frame loop made
as series 1's first frames.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.tag import Tag
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from testbeds import images

ROOT = "1.2.826.0.1.3680043.8.498.7716."
CINE_STUDY_UID = f"{ROOT}1"
US_MULTIFRAME = "1.2.840.10008.5.1.4.1.1.3.1"
US_IMAGE = "1.2.840.10008.5.1.4.1.1.6.1"
XA_IMAGE = "1.2.840.10008.5.1.4.1.1.12.1"
US_FRAMES, US_ROWS, US_COLUMNS, US_FRAME_TIME = 20, 96, 128, 40.0
XA_FRAMES, XA_SIZE = 16, 128
XA_WINDOW = (1024.0, 2048.0)  # center, width
# Frame Time Vector: the first frame at 0, then 50 ms between the next seven, 100 ms after.
XA_INCREMENTS = [0.0] + [50.0] * 7 + [100.0] * 8
MIXED_FRAMES = 4
STILL_COLOUR = (0, 0, 200)
CORNER = (4, 4)  # (row, column) of a pixel outside every square
CENTRE = (64, 64)  # inside the XA's square


def us_colour(k: int) -> tuple[int, int, int]:
    """The background of US frame `k` (from 0)."""
    return (10 * k + 5, 200 - 5 * k, 60)


def xa_value(k: int) -> int:
    """The stored value inside XA frame `k`'s square (from 0)."""
    return 100 + 200 * k


@dataclass
class CineStudy:
    directory: Path
    us: Dataset = field(default_factory=Dataset)
    xa: Dataset = field(default_factory=Dataset)
    mixed: list[Dataset] = field(default_factory=list)


def _base(sop_class: str, modality: str, series_number: int, description: str) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid(prefix=ROOT)
    ds.StudyInstanceUID, ds.SeriesInstanceUID = CINE_STUDY_UID, generate_uid(prefix=ROOT)
    ds.Modality, ds.SeriesNumber, ds.SeriesDescription = modality, series_number, description
    ds.InstanceNumber = 1
    ds.PatientName, ds.PatientID = "CINE^TEST", "CINE001"
    ds.StudyDate, ds.StudyTime, ds.AccessionNumber = "20240612", "093000", "CINEACC1"
    return ds


def us_cine(count: int = US_FRAMES) -> Dataset:
    ds = _base(US_MULTIFRAME, "US", 1, "CINE")
    ds.Rows, ds.Columns, ds.NumberOfFrames = US_ROWS, US_COLUMNS, count
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.FrameTime, ds.FrameIncrementPointer = US_FRAME_TIME, Tag("FrameTime")
    frames = np.empty((count, US_ROWS, US_COLUMNS, 3), np.uint8)
    for k in range(count):
        frames[k] = us_colour(k)
        frames[k, 40:56, 16 + 5 * k : 24 + 5 * k] = 255
    ds.PixelData = frames.tobytes()
    return ds


def xa_run() -> Dataset:
    ds = _base(XA_IMAGE, "XA", 2, "RUN")
    ds.Rows = ds.Columns = XA_SIZE
    ds.NumberOfFrames = XA_FRAMES
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.WindowCenter, ds.WindowWidth = XA_WINDOW
    ds.FrameTimeVector, ds.FrameIncrementPointer = XA_INCREMENTS, Tag("FrameTimeVector")
    frames = np.zeros((XA_FRAMES, XA_SIZE, XA_SIZE), np.uint16)
    for k in range(XA_FRAMES):
        frames[k, 32:96, 32:96] = xa_value(k)
    ds.PixelData = frames.tobytes()
    return ds


def mixed() -> list[Dataset]:
    """A still, then a short loop, in one series."""
    still = _base(US_IMAGE, "US", 3, "MIXED")
    still.Rows, still.Columns = US_ROWS, US_COLUMNS
    still.SamplesPerPixel, still.PhotometricInterpretation, still.PlanarConfiguration = 3, "RGB", 0
    still.BitsAllocated, still.BitsStored, still.HighBit, still.PixelRepresentation = 8, 8, 7, 0
    still.PixelData = np.full((US_ROWS, US_COLUMNS, 3), STILL_COLOUR, np.uint8).tobytes()
    loop = us_cine(MIXED_FRAMES)
    loop.SeriesInstanceUID, loop.SeriesNumber, loop.SeriesDescription = still.SeriesInstanceUID, 3, "MIXED"
    loop.InstanceNumber = 2
    return [still, loop]


def build(directory: Path) -> CineStudy:
    """Write the study's instances as Part 10 files into `directory` (next to other studies)."""
    study = CineStudy(directory, us_cine(), xa_run(), mixed())
    every = [study.us, study.xa, *study.mixed]
    random.Random(11).shuffle(every)
    for number, ds in enumerate(every):
        images.write(ds, directory / f"cine-{number:03}.dcm")
    return study
