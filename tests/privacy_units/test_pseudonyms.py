"""Tokens and date offsets: keyed, stable for one principal, unrelated across principals."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from pydicom.uid import UID

from dicom_mcp.privacy import pseudonyms
from dicom_mcp.privacy.keys import PseudonymKeys
from dicom_mcp.privacy.pseudonyms import (
    ACCESSION,
    MAX_OFFSET_DAYS,
    PATIENT_ID,
    STUDY_ID,
    Pseudonymiser,
    is_token,
    kind_of,
    shift_date,
    shift_dicom,
)

KEYS = PseudonymKeys(b"an operator secret of at least 32 bytes")
RESEARCHER = KEYS.for_principal("researcher")
AUDITOR = KEYS.for_principal("auditor")
STUDY_UID = "1.2.826.0.1.3680043.8.498.10"
VALID_UID = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")
BASE32 = re.compile(r"[A-Z2-7]{12}")


def test_a_uid_becomes_a_valid_2_25_uid_of_at_most_64_characters() -> None:
    for number in range(200):
        token = RESEARCHER.token(pseudonyms.UID, f"{STUDY_UID}.{number}")
        assert token.startswith("2.25.")
        assert len(token) <= 64
        assert VALID_UID.fullmatch(token)
        assert UID(token).is_valid
        assert int(token.removeprefix("2.25.")) < 2**128


@pytest.mark.parametrize(("kind", "prefix"), [(PATIENT_ID, "P-"), (ACCESSION, "A-"), (STUDY_ID, "S-")])
def test_identifiers_become_a_prefix_and_twelve_base32_characters(kind: str, prefix: str) -> None:
    token = RESEARCHER.token(kind, "PID0001")
    assert token.startswith(prefix)
    assert BASE32.fullmatch(token.removeprefix(prefix))
    assert is_token(kind, token)
    assert kind_of(token) == kind


def test_a_uid_token_is_recognised_by_its_shape() -> None:
    token = RESEARCHER.token(pseudonyms.UID, STUDY_UID)
    assert is_token(pseudonyms.UID, token)
    assert kind_of(token) == pseudonyms.UID


@pytest.mark.parametrize(
    "value", [STUDY_UID, "PID0001", "P-abcdefghijkl", "P-ABCDEFGHIJK", "A-ABCDEFGHIJ18", ""]
)
def test_originals_and_near_misses_are_not_tokens(value: str) -> None:
    assert kind_of(value) is None


def test_the_kinds_of_one_original_get_unrelated_tokens() -> None:
    tokens = {kind: RESEARCHER.token(kind, "12345") for kind in (PATIENT_ID, ACCESSION, STUDY_ID)}
    assert len({token[2:] for token in tokens.values()}) == 3


def test_the_same_original_gives_the_same_token_under_the_same_key() -> None:
    again = PseudonymKeys(b"an operator secret of at least 32 bytes").for_principal("researcher")
    for kind in pseudonyms.KINDS:
        assert RESEARCHER.token(kind, STUDY_UID) == again.token(kind, STUDY_UID)
    assert RESEARCHER.offset("PID0001") == again.offset("PID0001")


def test_different_principals_get_different_tokens_and_offsets() -> None:
    for kind in pseudonyms.KINDS:
        assert RESEARCHER.token(kind, STUDY_UID) != AUDITOR.token(kind, STUDY_UID)
    offsets = [(RESEARCHER.offset(f"PID{n}"), AUDITOR.offset(f"PID{n}")) for n in range(20)]
    assert any(mine != theirs for mine, theirs in offsets)


def test_another_secret_gives_other_tokens_to_the_same_principal() -> None:
    other = PseudonymKeys(b"another operator secret, also 32 bytes+").for_principal("researcher")
    assert other.token(PATIENT_ID, "PID0001") != RESEARCHER.token(PATIENT_ID, "PID0001")


def test_the_pseudonym_name_is_built_from_the_patient_token() -> None:
    assert RESEARCHER.name("PID0001") == "PATIENT^" + RESEARCHER.token(PATIENT_ID, "PID0001")
    assert RESEARCHER.name(None) == "PATIENT^UNKNOWN"


def test_an_offset_is_never_zero_and_at_most_a_year_either_way() -> None:
    offsets = [RESEARCHER.offset(f"PATIENT-{n}") for n in range(3000)]
    assert 0 not in offsets
    assert all(-MAX_OFFSET_DAYS <= days <= MAX_OFFSET_DAYS for days in offsets)
    assert MAX_OFFSET_DAYS == 365
    assert min(offsets) < 0 < max(offsets)  # both directions are used


def test_an_offset_is_whole_days_for_the_patient_not_the_study() -> None:
    assert isinstance(RESEARCHER.offset("PID0001"), int)
    assert RESEARCHER.offset("PID0001") == RESEARCHER.offset("PID0001")


def test_a_raw_key_works_as_a_pseudonymiser_too() -> None:
    one, two = Pseudonymiser(bytes(32)), Pseudonymiser(bytes(32))
    assert one.token(PATIENT_ID, "x") == two.token(PATIENT_ID, "x")


@pytest.mark.parametrize(
    ("value", "days", "moved"),
    [
        ("20240305", 10, "20240315"),
        ("20240305", -10, "20240224"),
        ("20240228", 1, "20240229"),  # a leap day
        ("20231231", 1, "20240101"),
        (" 20240305 ", 365, "20250305"),
    ],
)
def test_shift_date_moves_a_dicom_date(value: str, days: int, moved: str) -> None:
    assert shift_date(value, days) == moved


@pytest.mark.parametrize("value", ["2024030", "20241340", "20240230", "2024-03-05", "", "yesterday"])
def test_shift_date_refuses_what_is_not_a_date(value: str) -> None:
    assert shift_date(value, 10) is None


@pytest.mark.parametrize(
    ("value", "moved"),
    [
        ("20240305", "20240315"),
        ("20240101-20240131", "20240111-20240210"),
        ("20240101-", "20240111-"),
        ("-20240131", "-20240210"),
        ("20240305141500", "20240315141500"),  # DT: the time stays
        ("20240305141500.123456+0100", "20240315141500.123456+0100"),
    ],
)
def test_shift_dicom_moves_dates_ranges_and_date_times(value: str, moved: str) -> None:
    assert shift_dicom(value, 10) == moved


@pytest.mark.parametrize("value", ["-", "2024-", "20241301-20241302", "garbage"])
def test_shift_dicom_refuses_what_it_cannot_read(value: str) -> None:
    assert shift_dicom(value, 10) is None


def test_a_date_time_range_moves_at_both_ends_or_not_at_all() -> None:
    # Both ends are one patient's: half a moved range would mix two calendars.
    assert shift_dicom("20240101120000-20240102120000", 10) in (None, "20240111120000-20240112120000")


def test_one_patients_intervals_are_kept() -> None:
    days = RESEARCHER.offset("PID0001")
    first, second = "20230117", "20240305"
    moved = [shift_date(value, days) for value in (first, second)]
    assert moved[0] != first
    assert _between(*moved) == _between(first, second)


def _between(low: str | None, high: str | None) -> int:
    read = [dt.datetime.strptime(str(value), "%Y%m%d").date() for value in (low, high)]
    return (read[1] - read[0]).days
