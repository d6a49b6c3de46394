"""Multi-frame instances of a few MB, for reading frame by frame past a small byte cap.

One study, one series per instance: 16-bit MONOCHROME2 frames of deterministic noise (so no
codec shrinks them much), 128 x 128, 64 frames (2 MB of pixel data each), stored uncompressed
(Explicit VR Little Endian), and RLE Lossless (one fragment per frame) with and without a
Basic Offset Table. A service whose DICOM_MCP_MAX_RETRIEVE_BYTES is 512 KiB finds each "large".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate, generate_frames
from pydicom.pixels import compress
from pydicom.uid import UID, ExplicitVRLittleEndian, RLELossless

ENHANCED_MR: Final = "1.2.840.10008.5.1.4.1.1.4.1"
MULTIFRAME_GREY: Final = "1.2.840.10008.5.1.4.1.1.7.3"  # Multi-frame Grayscale Word SC
ROOT: Final = "1.2.826.0.1.3680043.8.498.7710"
STUDY: Final = f"{ROOT}.1"
ROWS, COLUMNS, FRAMES = 128, 128, 64
PATIENT: Final = ("Frames^Many", "FRAMES0001")


@dataclass(frozen=True)
class Written:
    name: str
    series: str
    sop: str
    path: Path
    syntax: str


def _dataset(number: int) -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID, ds.SOPInstanceUID = MULTIFRAME_GREY, f"{ROOT}.1.{number}.1"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = STUDY, f"{ROOT}.1.{number}"
    ds.StudyDate, ds.StudyTime, ds.Modality = "20240612", "090000", "OT"
    ds.PatientName, ds.PatientID = PATIENT
    ds.StudyID, ds.SeriesNumber, ds.InstanceNumber, ds.AccessionNumber = "1", number, 1, "ACCFRAMES"
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.NumberOfFrames, ds.Rows, ds.Columns = FRAMES, ROWS, COLUMNS
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.FrameIncrementPointer = 0x00181063
    ds.FrameTime = 40.0
    rng = np.random.default_rng(number)
    noise = rng.integers(0, 4096, size=(FRAMES, ROWS, COLUMNS), dtype=np.uint16)
    noise[:, : ROWS // 4, :] = (np.arange(FRAMES, dtype=np.uint16) * 60)[:, None, None]  # each frame its own
    ds.PixelData = noise.astype("<u2").tobytes()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = UID(MULTIFRAME_GREY)
    ds.file_meta.MediaStorageSOPInstanceUID = UID(ds.SOPInstanceUID)
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return ds


def write_frames(folder: Path) -> dict[str, Written]:
    """The three instances ("native", "rle", "rle-bot"), as Part 10 files in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, Written] = {}
    for number, name in enumerate(("native", "rle", "rle-bot"), start=1):
        ds = _dataset(number)
        if name != "native":
            ds = compress(ds, RLELossless, encoding_plugin="pydicom")
            frames = list(generate_frames(ds.PixelData, number_of_frames=FRAMES))
            ds.PixelData = encapsulate(frames, has_bot=name == "rle-bot")
        path = folder / f"{name}.dcm"
        ds.save_as(path, enforce_file_format=True)
        syntax = str(ds.file_meta.TransferSyntaxUID)
        written[name] = Written(name, ds.SeriesInstanceUID, ds.SOPInstanceUID, path, syntax)
    return written
