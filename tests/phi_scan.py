"""Search logs for the test data set's patient data: names, name parts, IDs, birth dates and report text."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from testbeds.pacs import make_catalog
from testbeds.pacs.reports import REPORT_TERMS


def patient_terms() -> set[str]:
    """Every string that would betray a test patient if it appeared in an ordinary log."""
    terms: set[str] = set(REPORT_TERMS)  # what the radiologist wrote is patient data too
    for patient in make_catalog().patients:
        terms |= {patient.patient_id, patient.birth_date, patient.name}
        for group in patient.name.split("="):
            terms |= {part for part in re.split(r"[\^ ]", group) if len(part) >= 2}
    return terms


def find_patient_data(paths: Iterable[Path]) -> list[str]:
    """Lines (path:line: term) where a patient term occurs."""
    terms = patient_terms()
    hits = []
    for path in paths:
        if not path.exists():
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
            hits += [f"{path}:{number}: {term!r}" for term in terms if term in line]
    return hits
