"""Minimal PDFs written by hand: one Helvetica text object per page, a correct cross-reference table.

The one generator of the sample data set and of the test beds (`testbeds/pdf.py` imports it):
a real PDF library would be a dependency for fifty lines. pypdf reads these back line by line.
"""

from __future__ import annotations


def make_pdf(pages: list[str], font_encoding: str = "WinAnsiEncoding") -> bytes:
    """A PDF whose page i shows pages[i], one PDF text line per line of it."""
    font = f"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /{font_encoding} >>"
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"", font.encode()]
    kids = []
    for text in pages:
        page_number, content_number = len(objects) + 1, len(objects) + 2
        kids.append(f"{page_number} 0 R")
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % content_number
        )
        objects.append(_stream(_content(text)))
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(pages)} >>".encode()
    return _file(objects)


def _content(text: str) -> bytes:
    shown = " T* ".join(f"({_escape(line)}) Tj" for line in text.split("\n"))
    return f"BT /F1 12 Tf 14 TL 72 720 Td {shown} ET".encode("latin-1")


def _escape(line: str) -> str:
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _stream(data: bytes) -> bytes:
    return b"<< /Length %d >>\nstream\n%s\nendstream" % (len(data), data)


def _file(objects: list[bytes]) -> bytes:
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
