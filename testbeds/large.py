"""A large multi-frame instance, and a small twin of it, written at test time to a folder of the test's.

The large one is an ultrasound cine as a real scanner stores it: 672 x 1016 RGB, 51 frames, 8 bits,
uncompressed (104 MB of pixel data, past the service's default byte cap of 64 MiB). Its twin has
the same header but two frames (4 MB), so its header can be read whole and compared. The pixel
data is a byte ramp written in pieces; nothing holds the whole instance in memory.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset, write_file_meta_info
from pydicom.uid import UID, ExplicitVRLittleEndian

ULTRASOUND_MULTIFRAME: Final = "1.2.840.10008.5.1.4.1.1.3.1"
ROOT: Final = "1.2.826.0.1.3680043.8.498.7700"
STUDY, SERIES = f"{ROOT}.1", f"{ROOT}.1.1"
ROWS, COLUMNS, FRAMES, TWIN_FRAMES = 672, 1016, 51, 2
FRAME_BYTES: Final = ROWS * COLUMNS * 3
PATIENT: Final = ("Cine^Large", "LARGE0001")
_PIECE: Final = 4 * 1024 * 1024


@dataclass(frozen=True)
class Cine:
    """One written instance: its UIDs, its file, and the length of its pixel data."""

    study: str
    series: str
    sop: str
    path: Path
    frames: int

    @property
    def pixel_bytes(self) -> int:
        return self.frames * FRAME_BYTES


def cine_header(sop_uid: str, frames: int, number: int) -> Dataset:
    """The header of an RGB ultrasound cine of `frames` frames (no pixel data)."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "CARDIAC"]
    ds.SOPClassUID, ds.SOPInstanceUID = ULTRASOUND_MULTIFRAME, sop_uid
    ds.StudyDate, ds.StudyTime, ds.Modality = "20240611", "101500", "US"
    ds.Manufacturer, ds.ManufacturerModelName = "ACME", "Sonic 9"
    ds.StudyDescription, ds.SeriesDescription = "Echo", "Apical four chamber"
    ds.PatientName, ds.PatientID = PATIENT
    ds.PatientBirthDate, ds.PatientSex = "19600101", "M"
    ds.FrameTime, ds.CineRate, ds.RecommendedDisplayFrameRate = 33.3, 30, 30
    ds.FrameIncrementPointer = 0x00181063  # Frame Time
    ds.StudyInstanceUID, ds.SeriesInstanceUID = STUDY, SERIES
    ds.StudyID, ds.SeriesNumber, ds.InstanceNumber = "1", 1, number
    ds.AccessionNumber = "ACCLARGE1"
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", 0
    ds.NumberOfFrames = frames
    ds.Rows, ds.Columns = ROWS, COLUMNS
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.LossyImageCompression = "00"
    return ds


def write_cine(folder: Path, sop_uid: str, frames: int, number: int) -> Cine:
    """Write one cine as a Part 10 file in Explicit VR Little Endian, its pixels a byte ramp."""
    ds = cine_header(sop_uid, frames, number)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = UID(ULTRASOUND_MULTIFRAME), UID(sop_uid)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    fp = DicomBytesIO()
    fp.is_little_endian, fp.is_implicit_VR = True, False
    write_file_meta_info(fp, meta, enforce_standard=True)
    head = bytes(128) + b"DICM" + fp.getvalue()
    fp = DicomBytesIO()
    fp.is_little_endian, fp.is_implicit_VR = True, False
    write_dataset(fp, ds)
    length = frames * FRAME_BYTES
    path = folder / f"{sop_uid}.dcm"
    ramp = bytes(range(256)) * (_PIECE // 256)
    with path.open("wb") as out:
        out.write(head + fp.getvalue() + struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OB", 0, length))
        left = length
        while left:
            piece = ramp[: min(left, len(ramp))]
            out.write(piece)
            left -= len(piece)
    return Cine(STUDY, SERIES, sop_uid, path, frames)


def write_cines(folder: Path) -> tuple[Cine, Cine]:
    """The large cine (51 frames, 104 MB) and its small twin (2 frames), in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    return (
        write_cine(folder, f"{ROOT}.1.1.1", FRAMES, 1),
        write_cine(folder, f"{ROOT}.1.1.2", TWIN_FRAMES, 2),
    )
