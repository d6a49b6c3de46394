"""A pseudonymised caller's arguments: tokens in, originals out; probes refused."""

from __future__ import annotations

import re
from typing import Any

import pytest

from dicom_mcp.errors import InvalidQuery
from dicom_mcp.privacy.answers import DateFilter
from dicom_mcp.privacy.arguments import Translated, kind_of_argument, translate
from dicom_mcp.privacy.keys import PseudonymKeys
from dicom_mcp.privacy.pseudonyms import ACCESSION, PATIENT_ID, STUDY_ID, UID, shift_dicom

pytestmark = pytest.mark.anyio

P = PseudonymKeys(b"an operator secret of at least 32 bytes").for_principal("researcher")
MAX_LIMIT, DEFAULT_LIMIT = 1000, 50
PATIENT, OTHER_PATIENT = "PID0001", "PID0002"
STUDY_UID, OTHER_STUDY_UID = "1.2.826.0.1.3680043.8.498.10", "1.2.826.0.1.3680043.8.498.20"
SERIES_UID = "1.2.826.0.1.3680043.8.498.11"
# What the reverse map holds for this principal: (kind, token) -> (original, the original Patient ID)
ISSUED: dict[tuple[str, str], tuple[str, str | None]] = {
    (PATIENT_ID, P.token(PATIENT_ID, PATIENT)): (PATIENT, PATIENT),
    (ACCESSION, P.token(ACCESSION, "ACC1")): ("ACC1", PATIENT),
    (STUDY_ID, P.token(STUDY_ID, "1")): ("1", PATIENT),
    (UID, P.token(UID, STUDY_UID)): (STUDY_UID, PATIENT),
    (UID, P.token(UID, SERIES_UID)): (SERIES_UID, PATIENT),
    (UID, P.token(UID, OTHER_STUDY_UID)): (OTHER_STUDY_UID, OTHER_PATIENT),
}


async def recall(kind: str, token: str) -> tuple[str, str | None] | None:
    return ISSUED.get((kind, token))


async def run(tool: str = "query_series", **arguments: Any) -> Translated:
    return await translate(tool, arguments, P, recall, MAX_LIMIT, DEFAULT_LIMIT)


def test_identifier_and_uid_arguments_are_known_by_their_names() -> None:
    assert kind_of_argument("study_instance_uid") == UID
    assert kind_of_argument("sop_instance_uids") == UID
    assert kind_of_argument("patient_id") == PATIENT_ID
    assert kind_of_argument("accession_number") == ACCESSION
    assert kind_of_argument("study_id") == STUDY_ID
    assert kind_of_argument("study_description") is None
    assert kind_of_argument("modality") is None


async def test_tokens_become_their_originals() -> None:
    translated = await run(
        patient_id=P.token(PATIENT_ID, PATIENT),
        accession_number=P.token(ACCESSION, "ACC1"),
        study_instance_uid=P.token(UID, STUDY_UID),
        modality="CT",
        limit=10,
    )
    assert translated.arguments == {
        "patient_id": PATIENT,
        "accession_number": "ACC1",
        "study_instance_uid": STUDY_UID,
        "modality": "CT",
        "limit": 10,
    }
    assert translated.patient == PATIENT
    assert translated.originals == {
        PATIENT: P.token(PATIENT_ID, PATIENT),
        "ACC1": P.token(ACCESSION, "ACC1"),
        STUDY_UID: P.token(UID, STUDY_UID),
    }
    assert translated.date_filter is None


async def test_a_list_of_uid_tokens_becomes_a_list_of_originals() -> None:
    translated = await run(sop_instance_uids=[P.token(UID, STUDY_UID), P.token(UID, SERIES_UID)])
    assert translated.arguments["sop_instance_uids"] == [STUDY_UID, SERIES_UID]


async def test_a_uid_token_tells_whose_study_it_is() -> None:
    translated = await run(study_instance_uid=P.token(UID, STUDY_UID))
    assert translated.patient == PATIENT


async def test_a_token_never_issued_is_refused_as_unknown() -> None:
    forged = P.token(UID, "1.2.3.4.5.6")  # the right shape, but this principal was never given it
    with pytest.raises(InvalidQuery, match="is not a token this service gave you, or it expired"):
        await run(study_instance_uid=forged)


async def test_another_principals_token_is_unknown() -> None:
    theirs = PseudonymKeys(b"an operator secret of at least 32 bytes").for_principal("auditor")
    with pytest.raises(InvalidQuery, match="is not a token this service gave you"):
        await run(study_instance_uid=theirs.token(UID, STUDY_UID))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("study_instance_uid", STUDY_UID),  # an original is not a token
        ("patient_id", PATIENT),
        ("patient_id", P.token(ACCESSION, "ACC1")),  # a token of another kind
        ("accession_number", "A-short"),
        ("series_instance_uid", "2.25.0x12"),
    ],
)
async def test_a_value_not_shaped_like_a_token_is_refused(name: str, value: str) -> None:
    with pytest.raises(InvalidQuery, match=f"{name} takes a token an earlier answer gave"):
        await run(**{name: value})


@pytest.mark.parametrize(
    ("name", "value"), [("patient_id", "PID*"), ("patient_id", "P-?"), ("study_instance_uid", "2.25.*")]
)
async def test_wildcards_in_identifiers_are_refused(name: str, value: str) -> None:
    with pytest.raises(InvalidQuery, match=f"{name} cannot hold wildcards in the pseudonymised view"):
        await run(**{name: value})


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("name_pattern", "DOE*", "names cannot be searched in the pseudonymised view"),
        ("name_pattern", "", "names cannot be searched in the pseudonymised view"),
        ("birth_date", "19700101", "birth dates cannot be searched in the pseudonymised view"),
    ],
)
async def test_searching_by_name_or_birth_date_is_refused(name: str, value: str, message: str) -> None:
    with pytest.raises(InvalidQuery, match=message):
        await run(**{name: value})


async def test_arguments_left_out_are_not_refused() -> None:
    translated = await run(name_pattern=None, birth_date=None, patient_id=None)
    assert translated.arguments == {"name_pattern": None, "birth_date": None, "patient_id": None}


async def test_descriptions_with_wildcards_stay_usable() -> None:
    translated = await run(study_description="*THORAX*")
    assert translated.arguments == {"study_description": "*THORAX*"}


async def test_asking_for_removed_attributes_is_refused_naming_them() -> None:
    with pytest.raises(InvalidQuery) as refused:
        await run(additional_attributes=["PatientAge", "InstitutionName", "PatientBirthDate"])
    message = str(refused.value)
    assert message.startswith("additional_attributes: InstitutionName, PatientBirthDate are not available")
    assert "PatientAge" not in message


@pytest.mark.parametrize("keyword", ["(0009,0010)", "ReferringPhysicianName", "NotAKeyword"])
async def test_private_and_unknown_attributes_cannot_be_asked_for(keyword: str) -> None:
    with pytest.raises(InvalidQuery, match=re.escape(f"additional_attributes: {keyword} is not available")):
        await run(additional_attributes=[keyword])


async def test_kept_attributes_can_be_asked_for() -> None:
    asked = ["PatientAge", "PatientSex", "StudyDescription", "ModalitiesInStudy", "StudyDate"]
    translated = await run(additional_attributes=asked)
    assert translated.arguments["additional_attributes"] == asked


async def test_excluding_the_patient_id_is_quietly_undone() -> None:
    # Each row needs its Patient ID to move its dates; it comes back as a token.
    translated = await run(exclude_attributes=["PatientID", "StudyTime"])
    assert translated.arguments["exclude_attributes"] == ["StudyTime"]
    assert (await run(exclude_attributes=["PatientID"])).arguments["exclude_attributes"] is None


@pytest.mark.parametrize("tool", ["query_patients", "query_studies"])
async def test_patient_and_study_queries_also_ask_for_the_patients_identity(tool: str) -> None:
    # Every row must teach the boundary whose it is (to clean descriptions, to move dates).
    translated = await run(tool, additional_attributes=["PatientAge"], exclude_attributes=["PatientName"])
    assert translated.arguments["additional_attributes"] == [
        "PatientAge",
        "PatientID",
        "PatientName",
        "PatientBirthDate",
        "OtherPatientIDs",
    ]
    assert translated.arguments["exclude_attributes"] is None


async def test_series_and_instance_queries_ask_for_nothing_more() -> None:
    translated = await run("query_series", additional_attributes=["BodyPartExamined"])
    assert translated.arguments["additional_attributes"] == ["BodyPartExamined"]


async def test_a_study_date_of_a_known_patient_moves_back_by_the_offset() -> None:
    days = P.offset(PATIENT)
    shifted_range = shift_dicom("20240101-20240131", days)
    translated = await run(patient_id=P.token(PATIENT_ID, PATIENT), study_date=shifted_range)
    assert translated.arguments["study_date"] == "20240101-20240131"
    assert translated.date_filter is None
    assert "limit" not in translated.arguments


@pytest.mark.parametrize("value", ["20240101-", "-20240131", "20240115"])
async def test_every_date_form_of_a_known_patient_moves_back(value: str) -> None:
    shifted = shift_dicom(value, P.offset(PATIENT))
    translated = await run(study_instance_uid=P.token(UID, STUDY_UID), study_date=shifted)
    assert translated.arguments["study_date"] == value


async def test_a_study_date_without_a_patient_is_widened_a_year_each_side() -> None:
    translated = await run(study_date="20240305", limit=20)
    assert translated.arguments["study_date"] == "20230306-20250305"
    assert translated.arguments["limit"] == MAX_LIMIT
    assert translated.date_filter == DateFilter("StudyDate", "20240305", "20240305", 20)


@pytest.mark.parametrize(
    ("value", "widened", "low", "high"),
    [
        ("20240101-20240131", "20230101-20250130", "20240101", "20240131"),
        ("20240101-", "20230101-", "20240101", ""),
        ("-20240131", "-20250130", "", "20240131"),
    ],
)
async def test_a_study_date_range_without_a_patient_is_widened(
    value: str, widened: str, low: str, high: str
) -> None:
    translated = await run(study_date=value)
    assert translated.arguments["study_date"] == widened
    assert translated.arguments["limit"] == MAX_LIMIT
    assert translated.date_filter == DateFilter("StudyDate", low, high, DEFAULT_LIMIT)


@pytest.mark.parametrize("value", ["2024", "20241340", "yesterday"])
async def test_an_unreadable_study_date_is_refused(value: str) -> None:
    with pytest.raises(InvalidQuery, match="study_date must be YYYYMMDD"):
        await run(study_date=value)
    with pytest.raises(InvalidQuery, match="study_date must be YYYYMMDD"):
        await run(patient_id=P.token(PATIENT_ID, PATIENT), study_date=value)


async def test_tokens_of_two_different_patients_are_refused() -> None:
    with pytest.raises(InvalidQuery, match="the tokens given belong to different patients"):
        await run(patient_id=P.token(PATIENT_ID, PATIENT), study_instance_uid=P.token(UID, OTHER_STUDY_UID))
