"""A PDF's text, in memory, bounded in pages, characters and time; malformed PDFs are clear errors."""

import logging
from io import BytesIO

import pytest
from pypdf import PdfReader, PdfWriter

from dicom_mcp.errors import DicomMcpError, ReportUnreadable
from dicom_mcp.logs import install_redaction
from dicom_mcp.reading.pdf import QUIET_LOGGERS, pdf_text
from testbeds.pdf import make_pdf


def test_text_of_each_page_is_extracted() -> None:
    pdf = make_pdf(["Impression: no acute findings\nRecommend follow-up (6 months)", "Signed: Dr. Example"])
    assert pdf_text(pdf, max_chars=10_000) == (
        "Impression: no acute findings\nRecommend follow-up (6 months)\n\nSigned: Dr. Example",
        False,
    )


def test_pages_beyond_the_cap_are_left_out() -> None:
    pdf = make_pdf([f"page-{number:04d}-end" for number in range(1, 1001)])
    text, truncated = pdf_text(pdf, max_chars=1_000_000)
    assert truncated is True
    assert "page-0001-end" in text
    assert "page-0050-end" in text
    assert "page-0051-end" not in text


def test_page_cap_can_be_lowered() -> None:
    pdf = make_pdf(["one", "two", "three"])
    assert pdf_text(pdf, max_chars=1000, max_pages=2) == ("one\n\ntwo", True)


def test_long_text_is_cut_at_max_chars() -> None:
    lines = [f"line {number:03d} of the findings" for number in range(200)]
    text, truncated = pdf_text(make_pdf(["\n".join(lines)]), max_chars=100)
    assert truncated is True
    # Four lines of 24 characters and their line breaks: exactly 100 characters.
    assert text == (
        "line 000 of the findings\nline 001 of the findings\nline 002 of the findings\nline 003 of the findings\n"
    )


def test_exhausted_time_budget_stops_before_the_next_page() -> None:
    assert pdf_text(make_pdf(["one", "two"]), max_chars=1000, time_limit=0.0) == ("", True)


def test_garbage_is_a_clear_error() -> None:
    with pytest.raises(ReportUnreadable, match="not a PDF"):
        pdf_text(b"Jane Doe's report, not a PDF at all", max_chars=1000)


def test_truncated_pdf_is_a_clear_error_without_its_content() -> None:
    pdf = make_pdf(["Confidential finding for Doe"])
    with pytest.raises(ReportUnreadable) as caught:
        pdf_text(pdf[: len(pdf) // 2], max_chars=1000)
    assert str(caught.value) == "the PDF is malformed"


def test_report_unreadable_is_a_value_error_of_the_service_tree() -> None:
    assert issubclass(ReportUnreadable, ValueError)
    assert issubclass(ReportUnreadable, DicomMcpError)


def test_pdf_locked_with_a_user_password_is_refused() -> None:
    with pytest.raises(ReportUnreadable, match="encrypted"):
        pdf_text(_encrypted(make_pdf(["Hidden"]), user_password="secret"), max_chars=1000)


def test_pdf_restricted_only_by_an_owner_password_is_read() -> None:
    assert pdf_text(_encrypted(make_pdf(["Readable"]), user_password=""), max_chars=1000) == (
        "Readable",
        False,
    )


def test_pypdf_records_that_quote_a_document_come_from_the_quiet_loggers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pdf = make_pdf(["Hello"], font_encoding="QuotedFromTheDocument")
    # The service silences these loggers (logs.install_redaction); open them here to see what they say.
    with caplog.at_level(logging.DEBUG, logger="pypdf"):
        assert pdf_text(pdf, max_chars=1000) == ("Hello", False)
    quoting = [record for record in caplog.records if "QuotedFromTheDocument" in record.getMessage()]
    assert quoting, "pypdf no longer quotes this document; find another example"
    assert all(record.name.split(".")[0] in QUIET_LOGGERS for record in quoting)
    # pypdf quotes documents at ERROR too, so quieting below ERROR is not enough.
    assert {record.levelno for record in quoting} == {logging.ERROR}


def _encrypted(pdf: bytes, user_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(BytesIO(pdf)))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def test_the_service_silences_the_loggers_that_quote_documents(caplog: pytest.LogCaptureFixture) -> None:
    install_redaction()
    pdf = make_pdf(["Hello"], font_encoding="QuotedFromTheDocument")
    with caplog.at_level(logging.DEBUG):
        assert pdf_text(pdf, max_chars=1000) == ("Hello", False)
    assert not [record for record in caplog.records if "QuotedFromTheDocument" in record.getMessage()]
