"""A report instance (SR, PDF or CDA) as the read_report result."""

import pytest
from pydicom.dataset import Dataset

from dicom_mcp.errors import ReportUnreadable
from dicom_mcp.reading.report import report
from testbeds.pdf import make_pdf
from tests.reading.datasets import code, content, ct_dataset, encapsulated, encoded, sr_document

ENCAPSULATED_PDF = "1.2.840.10008.5.1.4.1.1.104.1"
ENCAPSULATED_CDA = "1.2.840.10008.5.1.4.1.1.104.2"
TITLE = code("18748-4", "LN", "Diagnostic Imaging Report")
FINDING = code("121071", "DCM", "Finding")


def _verified_sr() -> Dataset:
    observer = Dataset()
    observer.VerifyingObserverName = "Smith^Anna"
    return sr_document(
        TITLE,
        [content("TEXT", FINDING, TextValue="No acute findings")],
        ContentDate="20240305",
        CompletionFlag="COMPLETE",
        VerificationFlag="VERIFIED",
        VerifyingObserverSequence=[observer],
    )


def test_sr_report_is_its_facts_and_outline() -> None:
    assert report(encoded(_verified_sr()), max_chars=10_000) == {
        "sop_instance_uid": "1.2.826.0.1.3680043.8.498.3001",
        "series_instance_uid": "1.2.826.0.1.3680043.8.498.3000",
        "kind": "sr",
        "title": "Diagnostic Imaging Report",
        "content_date": "2024-03-05",
        "completion_flag": "COMPLETE",
        "verification_flag": "VERIFIED",
        "verifying_observer": "Smith^Anna",
        "text": "Diagnostic Imaging Report\n  Finding: No acute findings",
        "truncated": False,
    }


def test_sr_text_is_cut_at_max_chars() -> None:
    result = report(_verified_sr(), max_chars=30)
    assert result["text"] == "Diagnostic Imaging Report\n  Fi"
    assert result["truncated"] is True


def test_sr_text_exactly_max_chars_long_is_whole() -> None:
    result = report(_verified_sr(), max_chars=54)
    assert result["text"] == "Diagnostic Imaging Report\n  Finding: No acute findings"
    assert result["truncated"] is False


def test_pdf_report_takes_its_title_from_document_title() -> None:
    instance = encapsulated(
        ENCAPSULATED_PDF, make_pdf(["Impression: normal study"]), "application/pdf", "CT Report"
    )
    assert report(encoded(instance), max_chars=10_000) == {
        "sop_instance_uid": "1.2.826.0.1.3680043.8.498.4001",
        "series_instance_uid": "1.2.826.0.1.3680043.8.498.4000",
        "kind": "pdf",
        "title": "CT Report",
        "content_date": "2024-03-05",
        "completion_flag": None,
        "verification_flag": None,
        "verifying_observer": None,
        "text": "Impression: normal study",
        "truncated": False,
    }


def test_pdf_without_a_document_title_takes_its_concept_name() -> None:
    instance = encapsulated(ENCAPSULATED_PDF, make_pdf(["Text"]), "application/pdf", "")
    instance.ConceptNameCodeSequence = [code("18748-4", "LN", "Diagnostic Imaging Report")]
    assert report(instance, max_chars=100)["title"] == "Diagnostic Imaging Report"


def test_cda_report_is_its_text_content() -> None:
    document = b"<ClinicalDocument xmlns='urn:hl7-org:v3'><title>MR Knee</title><text>Intact ligaments.</text></ClinicalDocument>"
    result = report(
        encoded(encapsulated(ENCAPSULATED_CDA, document, "text/XML", "MR Knee")), max_chars=10_000
    )
    assert result["kind"] == "cda"
    assert result["title"] == "MR Knee"
    assert result["text"] == "MR Knee\nIntact ligaments."


def test_unreadable_pdf_in_a_report_is_a_clear_error() -> None:
    instance = encapsulated(ENCAPSULATED_PDF, b"%PDF-1.4 then nothing", "application/pdf", "Broken")
    with pytest.raises(ReportUnreadable, match="malformed"):
        report(instance, max_chars=1000)


def test_image_is_not_a_report() -> None:
    with pytest.raises(ReportUnreadable, match="not a report: CT Image Storage"):
        report(ct_dataset(), max_chars=1000)


def test_encapsulated_instance_without_a_document_is_a_clear_error() -> None:
    instance = encapsulated(ENCAPSULATED_PDF, b"", "application/pdf", "Empty")
    del instance.EncapsulatedDocument
    with pytest.raises(ReportUnreadable, match="no encapsulated document"):
        report(instance, max_chars=1000)
