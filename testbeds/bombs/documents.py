"""Documents hard to read: a PDF that redraws one form, a CDA of empty elements, SRs too wide or deep.

Also `sr_report`, the small well-formed SR of the reports that must not be mixed up.
"""

from __future__ import annotations

import io
import zlib
from pathlib import Path

from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian

from dicom_mcp.model.sopclasses import COMPREHENSIVE_SR, ENCAPSULATED_CDA, ENCAPSULATED_PDF
from testbeds.bombs.encoding import (
    CHUNK,
    ITEM,
    ITEM_END,
    PATIENT,
    SEQUENCE_END,
    UNDEFINED,
    Instance,
    Place,
    delimiter,
    element_header,
    explicit_le,
    header,
    part10_file,
    split,
)


def pdf_bomb(draws: int = 30, form_bytes: int = CHUNK) -> bytes:
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
    """An Encapsulated PDF instance holding `pdf` (padded to an even length, as the standard asks)."""
    ds = header(place, ENCAPSULATED_PDF, "DOC")
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    ds.DocumentTitle = "Hostile PDF"
    ds.EncapsulatedDocument = pdf + b"\0" * (len(pdf) % 2)
    ds.EncapsulatedDocumentLength = len(pdf)
    return Instance(place, ENCAPSULATED_PDF, "DOC", ds)


def cda_bomb(folder: Path, place: Place, size: int = 60 * 2**20) -> Instance:
    """An Encapsulated CDA of `size` bytes: a root element holding nothing but empty elements."""
    ds = header(place, ENCAPSULATED_CDA, "DOC")
    ds.MIMETypeOfEncapsulatedDocument = "text/XML"
    ds.DocumentTitle = "Hostile CDA"
    start, end = b'<ClinicalDocument xmlns="urn:hl7-org:v3">', b"</ClinicalDocument>"
    empties = (size - len(start) - len(end)) // 4
    chunk = b"<a/>" * (CHUNK // 4)
    whole, rest = divmod(empties, CHUNK // 4)
    document = [start, *([chunk] * whole), b"<a/>" * rest, end]
    length = sum(map(len, document))
    document.append(b" " * (length % 2))
    before, after = split(ds, 0x00420011)
    parts = [before, element_header(0x00420011, "OB", length + length % 2), *document, after]
    return Instance(place, ENCAPSULATED_CDA, "DOC", part10_file(folder, ds, ExplicitVRLittleEndian, parts))


def _sr_root(place: Place, patient: tuple[str, str] = PATIENT) -> Dataset:
    ds = header(place, COMPREHENSIVE_SR, "SR", patient)
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
    encoded = delimiter(ITEM, len(item)) + item
    before, after = split(ds, 0x0040A730)
    whole, rest = divmod(items, 10_000)
    parts = [
        before,
        element_header(0x0040A730, "SQ", UNDEFINED),
        *([encoded * 10_000] * whole),
        encoded * rest,
        delimiter(SEQUENCE_END),
        after,
    ]
    return Instance(place, COMPREHENSIVE_SR, "SR", part10_file(folder, ds, ExplicitVRLittleEndian, parts))


def deep_sr(folder: Path, place: Place, depth: int = 3000) -> Instance:
    """An SR whose CONTAINER items nest `depth` deep, each in the one before (undefined lengths)."""
    ds = _sr_root(place)
    container = explicit_le(_container_item())
    opening = delimiter(ITEM, UNDEFINED) + container + element_header(0x0040A730, "SQ", UNDEFINED)
    closing = delimiter(SEQUENCE_END) + delimiter(ITEM_END)
    innermost = explicit_le(_text_item("deep"))
    before, after = split(ds, 0x0040A730)
    parts = [
        before,
        element_header(0x0040A730, "SQ", UNDEFINED),
        opening * (depth - 1),
        delimiter(ITEM, len(innermost)) + innermost,
        closing * (depth - 1),
        delimiter(SEQUENCE_END),
        after,
    ]
    return Instance(place, COMPREHENSIVE_SR, "SR", part10_file(folder, ds, ExplicitVRLittleEndian, parts))


def _container_item() -> Dataset:
    item = Dataset()
    item.RelationshipType, item.ValueType, item.ContinuityOfContent = "CONTAINS", "CONTAINER", "SEPARATE"
    return item
