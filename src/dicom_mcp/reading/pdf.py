"""A PDF's text, extracted in memory with pypdf and bounded in pages, characters and time.

pypdf logs what it finds wrong with a file, at WARNING and ERROR, and its messages may quote the
file's content (names, keys, fragments of text): the service's logging set-up must silence the
loggers in `QUIET_LOGGERS` altogether. Its exceptions may quote content too, so none reaches a
message of ours. pypdf itself caps stream sizes and decompression output (`pypdf.Configuration`).
The time budget is checked between pages: one page that takes long is not interrupted.
"""

from __future__ import annotations

import struct
import time
import zlib
from io import BytesIO
from typing import Final

from pypdf import PasswordType, PdfReader
from pypdf.errors import DependencyError, PyPdfError

from dicom_mcp.errors import ReportUnreadable

# Loggers whose records may quote a PDF's content.
QUIET_LOGGERS: Final = ("pypdf",)
MAX_PAGES: Final = 50
TIME_LIMIT: Final = 5.0
# pypdf raises many kinds of error on malformed input, not only its own (PyPdfError: limits
# reached, reference loops, broken xref tables); NotImplementedError means an unknown filter.
_MALFORMED = (
    PyPdfError,
    NotImplementedError,
    ValueError,
    TypeError,
    KeyError,
    AttributeError,
    IndexError,
    RecursionError,
    OSError,
    struct.error,
    zlib.error,
)


def pdf_text(
    data: bytes, max_chars: int, time_limit: float = TIME_LIMIT, max_pages: int = MAX_PAGES
) -> tuple[str, bool]:
    """The text of the first `max_pages` pages, at most `max_chars` characters, and whether it was cut.

    Raises:
        ReportUnreadable: the data is not a readable PDF, or is encrypted.
    """
    deadline = time.monotonic() + time_limit
    reader = _open(data)
    try:
        page_count = len(reader.pages)
    except _MALFORMED as exc:
        raise ReportUnreadable("the PDF's page tree cannot be read") from exc
    texts: list[str] = []
    size = 0
    truncated = page_count > max_pages
    for number in range(min(page_count, max_pages)):
        if time.monotonic() > deadline or size > max_chars:
            truncated = True
            break
        text = _page_text(reader, number)
        texts.append(text)
        size += len(text) + 2
    joined = "\n\n".join(texts)
    if len(joined) > max_chars:
        joined, truncated = joined[:max_chars], True
    return joined, truncated


def _open(data: bytes) -> PdfReader:
    if not data.lstrip(b"\x00\t\n\r ").startswith(b"%PDF-"):
        raise ReportUnreadable("the encapsulated document is not a PDF")
    try:
        reader = PdfReader(BytesIO(data), strict=False)
    except _MALFORMED as exc:
        raise ReportUnreadable("the PDF is malformed") from exc
    if _locked(reader):
        raise ReportUnreadable("the PDF is encrypted")
    return reader


def _locked(reader: PdfReader) -> bool:
    """True unless the PDF is unencrypted or opens with an empty user password.

    Many "encrypted" PDFs have an empty user password: they only restrict printing or copying.
    """
    try:
        return reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED
    except (DependencyError, *_MALFORMED):  # e.g. AES without the `cryptography` package
        return True


def _page_text(reader: PdfReader, number: int) -> str:
    """One page's text; a page that cannot be read is noted, not fatal."""
    try:
        return reader.pages[number].extract_text().strip()
    except _MALFORMED:
        return f"[page {number + 1} could not be read]"
