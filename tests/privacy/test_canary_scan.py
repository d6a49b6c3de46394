"""The canary bed and its scan, without servers: the data holds what it claims, and the scan can fail.

The end-to-end tests (test_pseudonymised_walk.py) pass when the scan finds nothing; these show
that it would find a canary in an answer, in another case or Unicode form, and in a PNG's text.
"""

from __future__ import annotations

import io
import itertools

import numpy as np
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from testbeds.canary import (
    BIRTH_DATE,
    CANARIES,
    FAMILY,
    PATIENT_CANARIES,
    PATIENT_NAME,
    PLANTED,
    PRIOR_DATE,
    STUDY_DATE,
    canary_studies,
    days_between,
    part10,
    written_forms,
)
from tests.privacy.scan import canaries_in, picture_problems, png_chunk_types


def png(info: PngInfo | None = None) -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def test_every_planted_value_is_in_the_instances() -> None:
    first, follow_up = canary_studies()
    # ISO_IR 192 writes every text value in UTF-8; the PDF's text is Latin-1 inside its stream.
    data = "".join(
        part10(ds).decode("utf-8", errors="ignore") for ds in (*first.datasets(), *follow_up.datasets())
    )
    assert set(PLANTED) - set(canaries_in(data, PLANTED)) == set()
    assert (first.instance_count, follow_up.instance_count) == (7, 2)


def test_the_planted_dates_are_too_far_apart_for_a_shift_to_land_on_another() -> None:
    _, follow_up = canary_studies()
    dates = (BIRTH_DATE, PRIOR_DATE, STUDY_DATE, follow_up.date)
    for earlier, later in itertools.combinations(sorted(dates), 2):
        assert days_between(earlier, later) > 365, (earlier, later)


def test_the_scan_ignores_case_and_unicode_form() -> None:
    decomposed = "Patient canaryfamilia\u0308 was seen"  # "ä" as "a" and a combining diaeresis
    assert FAMILY in canaries_in(decomposed)
    assert canaries_in(f"<{PATIENT_NAME.lower()}>", [PATIENT_NAME]) == [PATIENT_NAME]


def test_a_dicom_date_counts_only_standing_alone() -> None:
    inside_a_token = f"2.25.3{BIRTH_DATE}77"
    assert canaries_in(inside_a_token, [BIRTH_DATE]) == []
    assert canaries_in(f"born {BIRTH_DATE}.", [BIRTH_DATE]) == [BIRTH_DATE]
    assert canaries_in('"PatientBirthDate": "19610423"', [BIRTH_DATE]) == [BIRTH_DATE]


def test_written_dates_are_canaries_of_the_patient() -> None:
    assert {"1961-04-23", "23/04/1961", "23.04.1961", "23 April 1961", "April 23, 1961"} <= set(
        written_forms(BIRTH_DATE)
    )
    assert set(written_forms(BIRTH_DATE)) <= set(PATIENT_CANARIES) <= set(CANARIES)


def test_a_png_with_a_text_chunk_or_a_canary_is_a_problem() -> None:
    assert png_chunk_types(png())[0] == "IHDR"
    assert picture_problems(png()) == []
    info = PngInfo()
    info.add_text("Comment", "nothing to see")
    assert picture_problems(png(info)) == ["tEXt chunk"]
    info = PngInfo()
    info.add_itxt("Patient", PATIENT_NAME)
    problems = picture_problems(png(info))
    assert "iTXt chunk" in problems and FAMILY in problems
