"""Free text with one call's identities taken out: UIDs, known values and dates, in one pass."""

from __future__ import annotations

import pytest

from dicom_mcp.privacy.text import Cleaner

DAYS = 10
STUDY_UID = "1.2.826.0.1.3680043.8.498.10"
CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
KNOWN = {
    "PID0001": "P-TOKENTOKENTO",
    "ACC20240305": "A-TOKENTOKENTO",
    "Doe^Jane": "PATIENT^P-TOKENTOKENTO",
    "Doe": "[name]",
    "Jane": "[name]",
    "Müller": "[name]",
    "Łukasz": "[name]",
    "Ørsted": "[name]",
}
BIRTH = "19700101"


def uid_token(uid: str) -> str:
    return f"<token of {uid[-3:]}>"


def clean(text: str, days: int | None = DAYS, known: dict[str, str] | None = None) -> str:
    return Cleaner(KNOWN if known is None else known, {BIRTH}).clean(text, days, uid_token)


def test_an_instance_uid_becomes_its_token() -> None:
    assert clean(f"see study {STUDY_UID} for the prior") == "see study <token of .10> for the prior"


def test_a_2_25_uid_is_an_instance_uid_too() -> None:
    assert clean("ref 2.25.123456789012345678") == "ref <token of 678>"


def test_a_registered_uid_is_kept() -> None:
    assert clean(f"SOP class {CT_IMAGE_STORAGE}") == f"SOP class {CT_IMAGE_STORAGE}"


@pytest.mark.parametrize("text", ["host 192.168.1.10 port 104", "version 4.2.1", "dose 1.25 mGy"])
def test_addresses_versions_and_numbers_are_not_uids(text: str) -> None:
    assert clean(text) == text


def test_a_uid_at_the_end_of_a_sentence_becomes_its_token() -> None:
    # Error messages and report text end sentences with a period: the UID must not slip through.
    assert clean(f"No instance in series {STUDY_UID}.") == "No instance in series <token of .10>."


def test_known_values_are_replaced_whatever_their_case() -> None:
    assert clean("Patient doe, JANE (pid0001), accession acc20240305") == (
        "Patient [name], [name] (P-TOKENTOKENTO), accession A-TOKENTOKENTO"
    )


def test_the_whole_name_wins_over_its_parts() -> None:
    assert clean("Name: Doe^Jane") == "Name: PATIENT^P-TOKENTOKENTO"


def test_non_ascii_names_are_replaced_whatever_their_case() -> None:
    assert clean("Dr. MÜLLER saw łukasz and ØRSTED") == "Dr. [name] saw [name] and [name]"


def test_a_name_with_sharp_s_is_replaced_as_written() -> None:
    # "ß".casefold() is "ss": the pattern must still find the name as the report writes it.
    assert clean("Befund von Strauß", known={"Strauß": "[name]"}) == "Befund von [name]"


def test_known_values_inside_words_are_left() -> None:
    assert clean("Janet Doemer") == "Janet Doemer"


def test_a_single_character_value_is_not_replaced() -> None:
    assert clean("J. Doe", known={"J": "[name]", "Doe": "[name]"}) == "J. [name]"


@pytest.mark.parametrize(
    ("written", "moved"),
    [
        ("20240305", "20240315"),
        ("2024-03-05", "2024-03-15"),
        ("05.03.2024", "15.03.2024"),
        ("05/03/2024", "15/03/2024"),
        ("03/25/2024", "04/04/2024"),  # month first, when the day gives it away
        ("5 March 2024", "15 March 2024"),
        ("5 Mar 2024", "15 March 2024"),
        ("March 5, 2024", "March 15, 2024"),
        ("Mar. 5 2024", "March 15, 2024"),
    ],
)
def test_dates_in_every_written_form_move_by_the_offset(written: str, moved: str) -> None:
    assert clean(f"examined on {written}.") == f"examined on {moved}."


@pytest.mark.parametrize(
    "written", ["19700101", "1970-01-01", "01.01.1970", "1 January 1970", "January 1, 1970"]
)
def test_a_birth_date_is_replaced_in_every_form(written: str) -> None:
    assert clean(f"born {written}") == "born [birth date]"


@pytest.mark.parametrize(
    "written",
    [
        "1970-01-01T08:30:00",  # ISO date-time (CDA, generated PDFs)
        "01-01-1970",
        "01-JAN-1970",
        "1 Jan. 1970",
        "1970/01/01",
        "1st January 1970",
    ],
)
def test_a_birth_date_in_other_usual_forms_is_replaced(written: str) -> None:
    # "Dates in the usual written forms" (issue 25): all but "1 Jan. 1970" pass through today.
    assert "1970" not in clean(f"DOB: {written}")


def test_without_an_offset_every_date_is_hidden() -> None:
    assert clean("on 2024-03-05 and 5 March 2024, born 19700101", days=None) == (
        "on [date] and [date], born [birth date]"
    )


@pytest.mark.parametrize("text", ["20241340", "2024-13-05", "31.02.2024", "ticket 12345678"])
def test_what_only_looks_like_a_date_is_left(text: str) -> None:
    assert clean(text) == text


def test_a_replacement_is_never_replaced_again() -> None:
    known = {"Jane": "[name]", "name": "SHOULD NOT APPEAR", "Ann": "2024-03-05"}
    assert clean("Jane and Ann", known=known) == "[name] and 2024-03-05"


def test_a_uid_holding_a_date_is_tokenised_whole() -> None:
    assert clean("uid 1.2.3.20240305.7") == "uid <token of 5.7>"


def test_one_cleaner_serves_patients_with_different_offsets() -> None:
    cleaner = Cleaner(KNOWN, {BIRTH})
    assert cleaner.clean("2024-03-05", 1, uid_token) == "2024-03-06"
    assert cleaner.clean("2024-03-05", -1, uid_token) == "2024-03-04"
