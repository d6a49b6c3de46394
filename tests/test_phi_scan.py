"""The end-of-run patient-data scan finds what it looks for (so a clean result means something)."""

from pathlib import Path

from testbeds.pacs.dataset import JAPANESE_NAME
from testbeds.pacs.reports import FINDING, IMPRESSION, OBSERVER, PDF_LINES
from tests.phi_scan import find_patient_data, patient_terms


def test_terms_cover_names_parts_ids_and_birth_dates() -> None:
    terms = patient_terms()
    assert {"SMITH^JOHN", "SMITH", "Müller", "山田", "Иванова", "PAT004", "19550101", JAPANESE_NAME} <= terms


def test_terms_cover_the_reports_text_and_their_observer() -> None:
    terms = patient_terms()
    assert {FINDING, IMPRESSION, OBSERVER, "WHITAKER", "TAYLOR^OLIVIA"} <= terms
    assert {line for line in PDF_LINES if ":" in line} <= terms


def test_scan_reports_each_leak(tmp_path: Path) -> None:
    log = tmp_path / "leaky.log"
    log.write_text('{"message": "query for Müller^Jürgen"}\n{"message": "fine"}\n{"message": "id PAT003"}\n')
    hits = find_patient_data([log])
    assert any(":1: 'Müller'" in hit for hit in hits)
    assert any(":3: 'PAT003'" in hit for hit in hits)
    assert not any(":2:" in hit for hit in hits)
