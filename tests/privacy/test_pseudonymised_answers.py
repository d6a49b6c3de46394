"""What a pseudonymised caller's answers hold and what its arguments may be: token forms and their
stability, refusals (unknown tokens, probing arguments, removed attributes, images with text),
withheld report text, and dates moved by one offset per patient.

The researcher and the auditor of tests/privacy/conftest.py's service; the canary patient of
testbeds/canary. Every answer is searched for canaries, refusals included.
"""

from __future__ import annotations

import secrets
from base64 import b32encode
from typing import Any, Final

import pytest

from testbeds.canary import (
    BIRTH_DATE,
    DIAMETER,
    FAMILY,
    FINDING_SITE,
    GAP_DAYS,
    PATIENT_ID,
    PATIENT_NAME,
    PRIOR_DATE,
    STUDY_DATE,
    CanaryStudy,
    days_between,
    shifted,
)
from testbeds.service import RunningService
from testbeds.store import StoreScp
from tests.privacy.callers import (
    CT_IMAGE,
    TOKENS,
    as_principal,
    assert_no_canary,
    ct_slices,
    identifiers,
    is_uid_token,
    iso,
    text_of,
    tokens_of,
)
from tests.privacy.walk import walk

pytestmark = [pytest.mark.anyio, pytest.mark.pacs, pytest.mark.service]


# --- tokens -----------------------------------------------------------------------------------------


async def test_tokens_have_the_documented_forms(service: RunningService) -> None:
    async with as_principal(service, "researcher") as t:
        walked = await walk(t, {}, move=False)
    assert TOKENS["PatientID"].fullmatch(walked.patient["PatientID"])
    assert walked.patient["PatientName"] == f"PATIENT^{walked.patient['PatientID']}"
    for study in walked.studies:
        assert is_uid_token(study["StudyInstanceUID"])
        for keyword, form in TOKENS.items():
            assert form.fullmatch(str(study[keyword])), (keyword, study[keyword])
    uids = [str(match["SeriesInstanceUID"]) for match in walked.series.values()]
    uids += [str(match["SOPInstanceUID"]) for matches in walked.instances.values() for match in matches]
    uids += [walked.header["attributes"]["FrameOfReferenceUID"]]
    assert all(is_uid_token(uid) for uid in uids), uids
    assert len(set(uids)) == len(uids)
    # Registered UIDs (the DICOM standard's own) are not identifiers and stay as they are.
    assert {match["SOPClassUID"] for match in walked.instances["ct"]} == {CT_IMAGE}
    assert walked.header["sop_class_uid"] == CT_IMAGE
    assert_no_canary(t)


async def test_tokens_are_stable_for_a_principal_and_differ_between_principals(
    service: RunningService,
) -> None:
    async with as_principal(service, "researcher") as one:
        first = await identifiers(one)
        assert await identifiers(one) == first  # the same calls, twice
    async with as_principal(service, "researcher") as another:
        assert await identifiers(another) == first  # another MCP session of the same principal
    async with as_principal(service, "auditor") as auditor:
        other = await identifiers(auditor)
    assert tokens_of(first).isdisjoint(tokens_of(other))
    assert other["PatientName"] == f"PATIENT^{other['PatientID']}"
    assert_no_canary(one, another, auditor)


def forged_uid() -> str:
    """A UID token of the right form that nobody was given."""
    return f"2.25.{secrets.randbits(128)}"


def forged_patient_id() -> str:
    """A Patient ID token of the right form that nobody was given."""
    return "P-" + b32encode(secrets.token_bytes(10)).decode()[:12]


@pytest.mark.parametrize(
    "kind", ["forged UID", "forged patient ID", "the auditor's token", "an original UID"]
)
async def test_a_token_this_caller_was_never_given_is_refused(
    service: RunningService, canary: tuple[CanaryStudy, CanaryStudy], kind: str
) -> None:
    async with as_principal(service, "auditor") as auditor:
        auditors_study = (await identifiers(auditor))["studies"][0]["StudyInstanceUID"]
    async with as_principal(service, "researcher") as t:
        await identifiers(t)  # the researcher holds tokens of their own
        if kind == "forged patient ID":
            given = forged_patient_id(), forged_patient_id()
            message = await t.error("query_studies", patient_id=given[0])
            unknown = await t.error("query_studies", patient_id=given[1])
        else:
            uid = {
                "forged UID": forged_uid(),
                "the auditor's token": auditors_study,
                "an original UID": canary[0].study_uid,
            }[kind]
            # Compared with a value of the same shape that no one holds.
            given = uid, "1.2.3.4.5.6.7" if kind == "an original UID" else forged_uid()
            message = await t.error("query_series", study_instance_uid=given[0])
            unknown = await t.error("query_series", study_instance_uid=given[1])
    assert message.startswith("invalid input: "), message
    # The same answer as for a value nobody holds: the refusal tells nothing about the value.
    assert message.replace(given[0], "<value>") == unknown.replace(given[1], "<value>")


# --- refusals ---------------------------------------------------------------------------------------


PROBES: Final = [  # (tool, the probe, the same probe for someone who is not there)
    ("query_patients", {"name_pattern": f"{FAMILY}*"}, {"name_pattern": "NOBODY*"}),
    ("query_patients", {"name_pattern": PATIENT_NAME}, {"name_pattern": "NOBODY^NEVER"}),
    ("query_patients", {"birth_date": BIRTH_DATE}, {"birth_date": "19000101"}),
    ("query_patients", {"patient_id": "CANARYPID*"}, {"patient_id": "NOBODY*"}),
    ("query_studies", {"patient_id": "P-*"}, {"patient_id": "Q-*"}),
    ("query_studies", {"accession_number": "A-?*"}, {"accession_number": "B-?*"}),
]


@pytest.mark.parametrize(
    ("tool", "probe", "nobody"),
    PROBES,
    ids=["name pattern", "full name", "birth date", "wildcard id", "wildcard token", "wildcard accession"],
)
async def test_arguments_that_would_probe_for_a_person_are_refused(
    service: RunningService, tool: str, probe: dict[str, str], nobody: dict[str, str]
) -> None:
    async with as_principal(service, "researcher") as t:
        message = await t.error(tool, **probe)
        other = await t.error(tool, **nobody)
    assert message.startswith("invalid input: "), message
    (value,), (nobodys,) = probe.values(), nobody.values()
    assert message.replace(value, "<value>") == other.replace(nobodys, "<value>")


@pytest.mark.parametrize(
    ("tool", "attribute"),
    [
        ("query_patients", "PatientBirthDate"),
        ("query_patients", "OtherPatientIDs"),
        ("query_studies", "ReferringPhysicianName"),
        ("query_studies", "InstitutionName"),
    ],
)
async def test_asking_for_a_removed_attribute_is_refused_naming_it(
    service: RunningService, tool: str, attribute: str
) -> None:
    async with as_principal(service, "radiologist") as radiologist:
        identified = await radiologist.ok(tool, patient_id=PATIENT_ID, additional_attributes=[attribute])
    assert identified["matches"][0][attribute]  # the identified view has it: the refusal is the view's
    async with as_principal(service, "researcher") as t:
        pid = (await identifiers(t))["PatientID"]
        message = await t.error(tool, patient_id=pid, additional_attributes=[attribute])
    assert message.startswith("invalid input: "), message
    assert attribute in message
    assert_no_canary(t)


async def test_images_where_text_may_be_burned_in_are_withheld(
    service: RunningService, store: StoreScp
) -> None:
    async with as_principal(service, "researcher") as t:
        walked = await walk(t, {}, move=False)
        us = str(walked.series["us"]["SeriesInstanceUID"])
        frames = await t.ok("viewer_frames", study_instance_uid=walked.study_uid, series_instance_uid=us)
    for kind in ("us", "sc"):  # an ultrasound, and a secondary capture of modality CT
        assert walked.others[kind].is_error
        assert text_of(walked.others[kind]).startswith("withheld: "), text_of(walked.others[kind])
    reasons = {kind: text_of(walked.others[kind]).removeprefix("withheld: ") for kind in ("us", "sc")}
    # The viewer skips what render_image refuses, and says why in the same words.
    assert frames["frames"] == []
    assert [(s["sop_instance_uid"], s["reason"]) for s in frames["skipped"]] == [
        (walked.uid("us"), reasons["us"])
    ]
    thumbnails = walked.thumbnails
    assert [th["series_instance_uid"] for th in thumbnails["thumbnails"]] == [
        walked.series["ct"]["SeriesInstanceUID"]
    ]
    skipped = {s["series_instance_uid"]: s["reason"] for s in thumbnails["skipped"]}
    assert skipped == {walked.series[kind]["SeriesInstanceUID"]: reasons[kind] for kind in ("us", "sc")}
    assert not walked.image.is_error  # an original CT slice is shown
    assert_no_canary(t)


async def test_report_text_is_withheld_by_default_and_the_coded_items_stay(service: RunningService) -> None:
    async with as_principal(service, "researcher") as t:
        walked = await walk(t, {}, move=False)
    offset = days_between(STUDY_DATE, walked.studies[0]["StudyDate"])
    sr, pdf = walked.reports["sr"], walked.reports["pdf"]
    lines = [line.strip() for line in sr["text"].splitlines()]
    assert f"Finding Site: {FINDING_SITE}" in lines
    assert f"Diameter: {' '.join(DIAMETER)}" in lines
    assert f"Date of prior study: {iso(shifted(PRIOR_DATE, offset))}" in lines
    (uidref,) = [line for line in lines if line.startswith("Procedure Study Instance UID: ")]
    assert is_uid_token(uidref.split(": ", 1)[1])
    assert "withheld" in sr["text"].lower()  # it says so
    assert "spiculated" not in sr["text"] and "three months" not in sr["text"]
    assert "withheld" in str(pdf["text"]).lower()
    assert "nodule" not in str(pdf["text"])
    assert (sr["sop_instance_uid"], pdf["sop_instance_uid"]) == (walked.uid("sr"), walked.uid("pdf"))
    assert sr["content_date"] == pdf["content_date"] == iso(shifted(STUDY_DATE, offset))
    assert not sr["verifying_observer"]
    assert_no_canary(t)


# --- dates ------------------------------------------------------------------------------------------


async def test_dates_move_by_one_offset_per_patient_and_queries_work_in_the_moved_calendar(
    service: RunningService,
) -> None:
    async with as_principal(service, "researcher") as t:
        seen = await identifiers(t)
        first, follow_up = seen["studies"]
        offset = days_between(STUDY_DATE, first["StudyDate"])
        on_the_day = await t.ok("query_studies", study_date=first["StudyDate"])
        around = f"{shifted(first['StudyDate'], -1)}-{shifted(first['StudyDate'], 1)}"
        in_a_range = await t.ok("query_studies", study_date=around)
        from_then = await t.ok("query_studies", study_date=f"{follow_up['StudyDate']}-")
        with_patient = await t.ok(
            "query_studies", patient_id=seen["PatientID"], study_date=follow_up["StudyDate"]
        )
        original_day = await t.ok("query_studies", study_date=STUDY_DATE)
        slices = await ct_slices(t, first["StudyInstanceUID"])
        header = await t.ok("get_instance_metadata", sop_instance_uid=slices[0]["SOPInstanceUID"])
    assert offset != 0 and -365 <= offset <= 365
    assert days_between(first["StudyDate"], follow_up["StudyDate"]) == GAP_DAYS  # the interval is kept

    def uids(result: dict[str, Any]) -> list[str]:
        return [str(match["StudyInstanceUID"]) for match in result["matches"]]

    assert uids(on_the_day) == uids(in_a_range) == [first["StudyInstanceUID"]]
    assert uids(from_then) == uids(with_patient) == [follow_up["StudyInstanceUID"]]
    assert uids(original_day) == []  # the real calendar finds nothing
    attributes = header["attributes"]
    assert attributes["StudyDate"] == attributes["ContentDate"] == first["StudyDate"]
    assert "PatientBirthDate" not in attributes
    assert attributes["PatientAge"] == "058Y"  # the age at the study stands in for the birth date
    assert_no_canary(t)
