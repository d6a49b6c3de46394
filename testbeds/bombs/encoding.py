"""Where a bomb sits (`Place`), what a PACS lists and sends (`Instance`), and how bombs are encoded.

Bombs are encoded by hand where pydicom would hold what they inflate to: element headers written
before a value that is streamed or left as a hole, sequences with undefined lengths and their
delimiters. Zeros are written as holes (sparse files): a 1 GiB instance costs no disk and no memory.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset, write_file_meta_info
from pydicom.uid import UID, ExplicitVRLittleEndian

UID_ROOT: Final = "1.2.826.0.1.3680043.8.498.7731."
CT_IMAGE: Final = "1.2.840.10008.5.1.4.1.1.2"
SECONDARY_CAPTURE: Final = "1.2.840.10008.5.1.4.1.1.7"
RAW_DATA: Final = "1.2.840.10008.5.1.4.1.1.66"
PATIENT: Final = ("HOSTILE^BED", "HOSTILE1")
# The other patient, whose data must never reach a result about ours.
CANARY_NAME: Final = "Other^Canary"
CANARY_PATIENT: Final = (CANARY_NAME, "CANARY1")
CANARY_TEXT: Final = "OTHER-PATIENT-CANARY"
RIGHT_TEXT: Final = "RIGHT-REPORT"
GIB: Final = 2**30
CHUNK: Final = 2**20
# Explicit VR: these VRs have a 2-byte reserved field and a 4-byte length (PS3.5 7.1.2).
_LONG_VRS: Final = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"})
ITEM, ITEM_END, SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD  # item and delimitation tags
UNDEFINED: Final = 0xFFFFFFFF
# A private block in an odd group after every header tag: a reader meets the identity first.
PRIVATE_CREATOR, PRIVATE_BULK = 0x7FDF0010, 0x7FDF1010


@dataclass(frozen=True)
class Place:
    """Where an instance sits in the hierarchy."""

    study: str
    series: str
    sop: str

    @classmethod
    def make(cls, study: int, series: int = 1, instance: int = 1) -> Place:
        study_uid = f"{UID_ROOT}{study}"
        series_uid = f"{study_uid}.{series}"
        return cls(study_uid, series_uid, f"{series_uid}.{instance}")

    def sibling(self, instance: int) -> Place:
        """Another instance of the same series."""
        return Place(self.study, self.series, f"{self.series}.{instance}")


@dataclass(frozen=True)
class Instance:
    """An instance as a PACS lists it (class, modality, number) and what goes on the wire."""

    place: Place
    sop_class: str
    modality: str
    payload: Dataset | Path
    number: int = 1


def header(place: Place, sop_class: str, modality: str, patient: tuple[str, str] = PATIENT) -> Dataset:
    """The identity of an instance at `place`, with file meta for Explicit VR Little Endian."""
    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, place.sop
    ds.StudyInstanceUID, ds.SeriesInstanceUID = place.study, place.series
    ds.Modality = modality
    ds.PatientName, ds.PatientID = patient
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = UID(sop_class)
    ds.file_meta.MediaStorageSOPInstanceUID = UID(place.sop)
    return ds


def grey(ds: Dataset, rows: int, columns: int, bits: int = 8) -> None:
    """Describe `ds`'s pixels: `rows` x `columns`, one unsigned MONOCHROME2 sample of `bits`."""
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits, bits - 1, 0


def explicit_le(ds: Dataset) -> bytes:
    """`ds` encoded in Explicit VR Little Endian, without file meta."""
    fp = DicomBytesIO()
    fp.is_little_endian, fp.is_implicit_VR = True, False
    write_dataset(fp, ds)
    return fp.getvalue()


def preamble_and_meta(sop_class: str, sop_uid: str, syntax: str) -> bytes:
    """The start of a Part 10 file: 128 zero bytes, "DICM" and the file meta group."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = UID(sop_class), UID(sop_uid)
    meta.TransferSyntaxUID = UID(syntax)
    fp = DicomBytesIO()
    fp.is_little_endian, fp.is_implicit_VR = True, False
    write_file_meta_info(fp, meta, enforce_standard=True)
    return bytes(128) + b"DICM" + fp.getvalue()


def part10(instance: Instance) -> bytes:
    """A small instance as a Part 10 file in memory (a DICOMweb part): read from disk, or encoded."""
    if isinstance(instance.payload, Path):
        return instance.payload.read_bytes()
    ds = instance.payload
    return preamble_and_meta(instance.sop_class, instance.place.sop, ExplicitVRLittleEndian) + explicit_le(ds)


def element_header(tag: int, vr: str, length: int) -> bytes:
    """An Explicit VR Little Endian element's tag, VR and length, for a value written after it."""
    group, element = tag >> 16, tag & 0xFFFF
    if vr in _LONG_VRS:
        return struct.pack("<HH2sHI", group, element, vr.encode(), 0, length)
    return struct.pack("<HH2sH", group, element, vr.encode(), length)


def delimiter(tag: int, length: int = 0) -> bytes:
    """An item or delimitation tag and its length (PS3.5 7.5)."""
    return struct.pack("<HHI", tag >> 16, tag & 0xFFFF, length)


def split(ds: Dataset, tag: int) -> tuple[bytes, bytes]:
    """`ds` encoded in two parts: the elements before `tag`, and those after it."""
    before, after = Dataset(), Dataset()
    for elem in ds:
        (before if elem.tag < tag else after).add(elem)
    return explicit_le(before), explicit_le(after)


def write(path: Path, parts: Iterable[bytes | int]) -> Path:
    """Write `parts` in order: bytes as they are, an int as that many zeros (a hole in the file)."""
    with path.open("wb") as out:
        for part in parts:
            if isinstance(part, int):
                out.seek(part, io.SEEK_CUR)
            else:
                out.write(part)
        out.truncate()  # a hole at the very end needs the file extended to it
    return path


def part10_file(folder: Path, ds: Dataset, syntax: str, parts: Iterable[bytes | int]) -> Path:
    """A Part 10 file for `ds` under `folder`: its file meta, then `parts` as `write` takes them."""
    head = preamble_and_meta(str(ds.SOPClassUID), str(ds.SOPInstanceUID), syntax)
    return write(folder / f"{ds.SOPInstanceUID}.dcm", [head, *parts])
