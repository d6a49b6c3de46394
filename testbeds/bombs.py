"""Hostile DICOM instances, generated at test time (never committed): small on disk, huge when read.

Each maker places its instance at a `Place` (study, series, SOP Instance UID) and returns an
`Instance`: its SOP class and modality, as a PACS lists it, and its payload, either a small
Dataset (encoded by whoever sends it) or the path of a Part 10 file written under `folder`
(sent as it is encoded, never decoded). Zeros are written as holes (sparse files): a 1 GiB
instance costs no disk and no memory. Everything is synthetic, never patient data.

    deflated_bomb    Deflated Explicit VR LE whose dataset inflates to 1 GiB (a private OB of zeros)
    huge_instance    one 1 GiB dataset (a private OB of zeros), Explicit VR LE
    large_ct         an uncompressed 16-bit CT, 5400 x 5400 (58 MB)
    pdf_bomb         a 2.4 KB PDF whose one page draws a 1 MB form XObject 30 times
    wide_sr          a Comprehensive SR of 1,000,000 TEXT content items (50 MB)
    deep_sr          an SR whose content items nest 3,000 deep
    cda_bomb         an Encapsulated CDA of 60 MiB of empty elements
    jpegls_liar      a 64 x 64 JPEG-LS instance whose codestream declares 16384 x 16384
    jpeg_liar        a 64 x 64 baseline JPEG instance whose codestream declares 65000 x 65000
    palette_without_lut  PALETTE COLOR pixels without the palette
    one_bit          a 1-bit image (BitsAllocated 1), rows not byte-aligned
    bogus_voi_lut    a VOI LUT whose descriptor promises more entries than its data holds
    sr_report        a small Comprehensive SR of one TEXT item, for the reports that must not mix
    small_image      a small secondary capture that renders
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset, write_file_meta_info
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    JPEGBaseline8Bit,
    JPEGLSLossless,
)

UID_ROOT: Final = "1.2.826.0.1.3680043.8.498.7731."
CT_IMAGE: Final = "1.2.840.10008.5.1.4.1.1.2"
SECONDARY_CAPTURE: Final = "1.2.840.10008.5.1.4.1.1.7"
COMPREHENSIVE_SR: Final = "1.2.840.10008.5.1.4.1.1.88.33"
ENCAPSULATED_PDF: Final = "1.2.840.10008.5.1.4.1.1.104.1"
ENCAPSULATED_CDA: Final = "1.2.840.10008.5.1.4.1.1.104.2"
PATIENT: Final = ("HOSTILE^BED", "HOSTILE1")
RIGHT_TEXT: Final = "RIGHT-REPORT"
CANARY_TEXT: Final = "OTHER-PATIENT-CANARY"
CANARY_NAME: Final = "Other^Canary"
GIB: Final = 2**30
_CHUNK: Final = 2**20
# Explicit VR: these VRs have a 2-byte reserved field and a 4-byte length (PS3.5 7.1.2).
_LONG_VRS: Final = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"})
_ITEM, _ITEM_END, _SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_UNDEFINED: Final = 0xFFFFFFFF
_PRIVATE_CREATOR, _PRIVATE_BULK = 0x7FDF0010, 0x7FDF1010  # an odd group after every header tag


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


# --- encoding helpers ---------------------------------------------------------------------------


def _header(place: Place, sop_class: str, modality: str, patient: tuple[str, str] = PATIENT) -> Dataset:
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


def element_header(tag: int, vr: str, length: int) -> bytes:
    """An Explicit VR Little Endian element's tag, VR and length, for a value written after it."""
    group, element = tag >> 16, tag & 0xFFFF
    if vr in _LONG_VRS:
        return struct.pack("<HH2sHI", group, element, vr.encode(), 0, length)
    return struct.pack("<HH2sH", group, element, vr.encode(), length)


def _delimiter(tag: int, length: int = 0) -> bytes:
    return struct.pack("<HHI", tag >> 16, tag & 0xFFFF, length)


def _split(ds: Dataset, tag: int) -> tuple[bytes, bytes]:
    """`ds` encoded in two parts: the elements before `tag`, and those after it."""
    before, after = Dataset(), Dataset()
    for elem in ds:
        (before if elem.tag < tag else after).add(elem)
    return explicit_le(before), explicit_le(after)


def _write(path: Path, parts: Iterable[bytes | int]) -> Path:
    """Write `parts` in order: bytes as they are, an int as that many zeros (a hole in the file)."""
    with path.open("wb") as out:
        for part in parts:
            if isinstance(part, int):
                out.seek(part, io.SEEK_CUR)
            else:
                out.write(part)
        out.truncate()  # a hole at the very end needs the file extended to it
    return path


def _file(folder: Path, ds: Dataset, syntax: str, parts: Iterable[bytes | int]) -> Path:
    head = preamble_and_meta(str(ds.SOPClassUID), str(ds.SOPInstanceUID), syntax)
    return _write(folder / f"{ds.SOPInstanceUID}.dcm", [head, *parts])


# --- size bombs ---------------------------------------------------------------------------------


def deflated_bomb(folder: Path, place: Place, inflated: int = GIB) -> Instance:
    """Deflated Explicit VR LE whose dataset inflates to `inflated` bytes (~1 MB on the wire).

    The zeros are deflated one full-flushed chunk at a time: after a full flush a chunk refers to
    nothing before it, so its compressed form is the same every time and is made once.
    """
    ds = _header(place, SECONDARY_CAPTURE, "OT")
    ds.add_new(_PRIVATE_CREATOR, "LO", "HOSTILE BED")
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = explicit_le(ds) + element_header(_PRIVATE_BULK, "OB", inflated)
    out = [compressor.compress(head), compressor.flush(zlib.Z_FULL_FLUSH)]
    whole, rest = divmod(inflated, _CHUNK)
    if whole:
        block = compressor.compress(bytes(_CHUNK)) + compressor.flush(zlib.Z_FULL_FLUSH)
        out.append(block * whole)
    out += [compressor.compress(bytes(rest)), compressor.flush()]
    return Instance(
        place, SECONDARY_CAPTURE, "OT", _file(folder, ds, DeflatedExplicitVRLittleEndian, [b"".join(out)])
    )


def huge_instance(folder: Path, place: Place, size: int = GIB) -> Instance:
    """One dataset of `size` bytes and more: a private OB of zeros, streamed from a sparse file."""
    ds = _header(place, SECONDARY_CAPTURE, "OT")
    ds.add_new(_PRIVATE_CREATOR, "LO", "HOSTILE BED")
    parts: list[bytes | int] = [explicit_le(ds), element_header(_PRIVATE_BULK, "OB", size), size]
    return Instance(place, SECONDARY_CAPTURE, "OT", _file(folder, ds, ExplicitVRLittleEndian, parts))


def large_ct(folder: Path, place: Place, number: int = 1, side: int = 5400) -> Instance:
    """An uncompressed 16-bit CT of `side` x `side` (58 MB at 5400), its pixels all zero."""
    ds = _header(place, CT_IMAGE, "CT")
    ds.InstanceNumber = number
    _grey(ds, side, side, bits=16)
    ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
    ds.WindowCenter, ds.WindowWidth = 40, 400
    length = side * side * 2
    parts: list[bytes | int] = [explicit_le(ds), element_header(0x7FE00010, "OW", length), length]
    return Instance(place, CT_IMAGE, "CT", _file(folder, ds, ExplicitVRLittleEndian, parts), number)


# --- parser bombs -------------------------------------------------------------------------------


def pdf_bomb(draws: int = 30, form_bytes: int = _CHUNK) -> bytes:
    """A PDF of one page that draws, `draws` times, one form XObject of `form_bytes` of text operators.

    The form is deflated (1 MB of `(A) Tj` is ~1 KB): a text extractor runs the whole form
    each time the page draws it.
    """
    operator = b"(A) Tj "
    form = b"BT /F1 1 Tf " + operator * (form_bytes // len(operator)) + b"ET"
    packed = zlib.compress(form, 9)
    content = b"q /X1 Do Q " * draws
    font = b"<< /Font << /F1 3 0 R >> >>"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 3 0 R >> /XObject << /X1 6 0 R >> >> /Contents 5 0 R >>",
        b"<< /Length %d >>\nstream\n%b\nendstream" % (len(content), content),
        b"<< /Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources %b "
        b"/Filter /FlateDecode /Length %d >>\nstream\n%b\nendstream" % (font, len(packed), packed),
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%b\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % offset for offset in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def encapsulated_pdf(place: Place, pdf: bytes) -> Instance:
    ds = _header(place, ENCAPSULATED_PDF, "DOC")
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    ds.DocumentTitle = "Hostile PDF"
    ds.EncapsulatedDocument = pdf + b"\0" * (len(pdf) % 2)
    ds.EncapsulatedDocumentLength = len(pdf)
    return Instance(place, ENCAPSULATED_PDF, "DOC", ds)


def cda_bomb(folder: Path, place: Place, size: int = 60 * 2**20) -> Instance:
    """An Encapsulated CDA of `size` bytes: a root element holding nothing but empty elements."""
    ds = _header(place, ENCAPSULATED_CDA, "DOC")
    ds.MIMETypeOfEncapsulatedDocument = "text/XML"
    ds.DocumentTitle = "Hostile CDA"
    start, end = b'<ClinicalDocument xmlns="urn:hl7-org:v3">', b"</ClinicalDocument>"
    empties = (size - len(start) - len(end)) // 4
    chunk = b"<a/>" * (_CHUNK // 4)
    whole, rest = divmod(empties, _CHUNK // 4)
    document = [start, *([chunk] * whole), b"<a/>" * rest, end]
    length = sum(map(len, document))
    document.append(b" " * (length % 2))
    before, after = _split(ds, 0x00420011)
    parts = [before, element_header(0x00420011, "OB", length + length % 2), *document, after]
    return Instance(place, ENCAPSULATED_CDA, "DOC", _file(folder, ds, ExplicitVRLittleEndian, parts))


def _sr_root(place: Place, patient: tuple[str, str] = PATIENT) -> Dataset:
    ds = _header(place, COMPREHENSIVE_SR, "SR", patient)
    ds.ValueType, ds.ContinuityOfContent = "CONTAINER", "SEPARATE"
    ds.CompletionFlag, ds.VerificationFlag = "COMPLETE", "UNVERIFIED"
    ds.ConceptNameCodeSequence = [_code("18782-3", "LN", "Radiology Study observation")]
    return ds


def _text_item(text: str) -> Dataset:
    item = Dataset()
    item.RelationshipType, item.ValueType, item.TextValue = "CONTAINS", "TEXT", text
    return item


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = value, scheme, meaning
    return code


def sr_report(place: Place, text: str, patient: tuple[str, str] = PATIENT) -> Instance:
    """A Comprehensive SR whose one TEXT item says `text`."""
    ds = _sr_root(place, patient)
    item = _text_item(text)
    item.ConceptNameCodeSequence = [_code("121071", "DCM", "Finding")]
    ds.ContentSequence = [item]
    return Instance(place, COMPREHENSIVE_SR, "SR", ds)


def wide_sr(folder: Path, place: Place, items: int = 1_000_000) -> Instance:
    """A Comprehensive SR of `items` TEXT content items: one item encoded once, its bytes repeated."""
    ds = _sr_root(place)
    item = explicit_le(_text_item("x"))
    encoded = _delimiter(_ITEM, len(item)) + item
    before, after = _split(ds, 0x0040A730)
    whole, rest = divmod(items, 10_000)
    parts = [
        before,
        element_header(0x0040A730, "SQ", _UNDEFINED),
        *([encoded * 10_000] * whole),
        encoded * rest,
        _delimiter(_SEQUENCE_END),
        after,
    ]
    return Instance(place, COMPREHENSIVE_SR, "SR", _file(folder, ds, ExplicitVRLittleEndian, parts))


def deep_sr(folder: Path, place: Place, depth: int = 3000) -> Instance:
    """An SR whose CONTAINER items nest `depth` deep, each in the one before (undefined lengths)."""
    ds = _sr_root(place)
    container = explicit_le(_container_item())
    opening = _delimiter(_ITEM, _UNDEFINED) + container + element_header(0x0040A730, "SQ", _UNDEFINED)
    closing = _delimiter(_SEQUENCE_END) + _delimiter(_ITEM_END)
    innermost = explicit_le(_text_item("deep"))
    before, after = _split(ds, 0x0040A730)
    parts = [
        before,
        element_header(0x0040A730, "SQ", _UNDEFINED),
        opening * (depth - 1),
        _delimiter(_ITEM, len(innermost)) + innermost,
        closing * (depth - 1),
        _delimiter(_SEQUENCE_END),
        after,
    ]
    return Instance(place, COMPREHENSIVE_SR, "SR", _file(folder, ds, ExplicitVRLittleEndian, parts))


def _container_item() -> Dataset:
    item = Dataset()
    item.RelationshipType, item.ValueType, item.ContinuityOfContent = "CONTAINS", "CONTAINER", "SEPARATE"
    return item


# --- images that lie or cannot be shown ---------------------------------------------------------


def _grey(ds: Dataset, rows: int, columns: int, bits: int = 8) -> None:
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits, bits - 1, 0


def _gradient(side: int = 64) -> np.ndarray:
    return (np.arange(side * side) % 251).astype(np.uint8).reshape(side, side)


def small_image(place: Place, number: int = 1, patient: tuple[str, str] = PATIENT) -> Instance:
    """A 64 x 64 8-bit secondary capture that renders."""
    ds = _header(place, SECONDARY_CAPTURE, "OT", patient)
    ds.InstanceNumber = number
    _grey(ds, 64, 64)
    ds.PixelData = _gradient().tobytes()
    return Instance(place, SECONDARY_CAPTURE, "OT", ds, number)


def _declaring(codestream: bytes, marker: bytes, rows: int, columns: int) -> bytes:
    """`codestream` with the frame header after `marker` (SOFn) declaring `rows` x `columns`."""
    at = codestream.index(marker) + 5  # marker (2), length (2), precision (1), then Y, X
    return codestream[:at] + struct.pack(">HH", rows, columns) + codestream[at + 4 :]


def _encapsulated(place: Place, frame: bytes, syntax: UID, number: int) -> Instance:
    ds = _header(place, SECONDARY_CAPTURE, "OT")
    ds.file_meta.TransferSyntaxUID = syntax
    ds.InstanceNumber = number
    _grey(ds, 64, 64)
    ds.PixelData = encapsulate([frame])
    ds["PixelData"].VR = "OB"
    return Instance(place, SECONDARY_CAPTURE, "OT", ds, number)


def jpegls_liar(place: Place, number: int = 1, declared: int = 16384) -> Instance:
    """A 64 x 64 JPEG-LS instance whose codestream (SOF55) declares `declared` x `declared`."""
    import jpeg_ls  # type: ignore[import-untyped]  # noqa: PLC0415 - only this maker needs it

    codestream = bytes(jpeg_ls.encode_array(_gradient()))
    return _encapsulated(
        place, _declaring(codestream, b"\xff\xf7", declared, declared), JPEGLSLossless, number
    )


def jpeg_liar(place: Place, number: int = 1, declared: int = 65000) -> Instance:
    """A 64 x 64 baseline JPEG instance whose codestream (SOF0) declares `declared` x `declared`."""
    out = io.BytesIO()
    Image.fromarray(_gradient(), mode="L").save(out, format="JPEG", quality=90)
    codestream = _declaring(out.getvalue(), b"\xff\xc0", declared, declared)
    return _encapsulated(place, codestream, JPEGBaseline8Bit, number)


def palette_without_lut(place: Place, number: int = 1) -> Instance:
    """PALETTE COLOR pixels with no palette lookup tables at all."""
    instance = small_image(place, number)
    assert isinstance(instance.payload, Dataset)
    instance.payload.PhotometricInterpretation = "PALETTE COLOR"
    return instance


def one_bit(place: Place, number: int = 1) -> Instance:
    """A 1-bit image (BitsAllocated 1): eight pixels a byte, rows not byte-aligned."""
    ds = small_image(place, number).payload
    assert isinstance(ds, Dataset)
    ds.Rows = ds.Columns = 63
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 1, 1, 0
    ds.PixelData = bytes([0b10101010]) * ((63 * 63 + 7) // 8 + 1)
    return Instance(place, SECONDARY_CAPTURE, "OT", ds, number)


def bogus_voi_lut(place: Place, number: int = 1) -> Instance:
    """A VOI LUT whose descriptor promises 4096 16-bit entries and whose data holds 2."""
    ds = small_image(place, number).payload
    assert isinstance(ds, Dataset)
    lut = Dataset()
    # Both are "US or SS" / "US or OW" in the dictionary: say which, or nothing can encode them.
    lut.add_new(0x00283002, "US", [4096, 0, 16])  # LUT Descriptor
    lut.add_new(0x00283006, "US", [0, 65535])  # LUT Data
    ds.VOILUTSequence = [lut]
    return Instance(place, SECONDARY_CAPTURE, "OT", ds, number)
