"""The pseudonymised view end to end: a caller who finds, reads, looks at and moves a study without ever
learning who the patient is, on the same service as callers who do.

The canary patient (testbeds/canary) has identifiers planted everywhere; a Transcript (scan.py)
keeps every byte a caller receives, and each test searches it, and the service's log. The
service's API keys name a researcher (pseudonymised, may move), an auditor (pseudonymised) and a
radiologist (identified); other services run over stdio with DICOM_MCP_VIEW=pseudonymised, as two
replicas on one Redis, and with DICOM_MCP_PSEUDONYMISED_TEXT=scrub. The PACS are Orthanc and
dcmqrscp, each holding the canary patient alone. test_pseudonymised_answers.py holds the rules
each answer follows: token forms, refusals, dates, reports and images.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from testbeds.canary import (
    BIRTH_DATE,
    OBSERVER,
    PATIENT_CANARIES,
    PATIENT_ID,
    PATIENT_NAME,
    PLANTED,
    CanaryStudy,
)
from testbeds.clients import mcp_client
from testbeds.pacs import RunningPacs
from testbeds.redis import RedisServer
from testbeds.service import RunningService, run_service
from testbeds.store import StoreScp
from tests.privacy.callers import (
    TOKENS,
    aim,
    as_principal,
    assert_no_canary,
    ct_slices,
    identifiers,
    is_uid_token,
    originals,
)
from tests.privacy.conftest import stdio_service, write_keys
from tests.privacy.scan import Transcript, picture_problems
from tests.privacy.walk import walk
from tests.reading_beds import DESTINATION, audit_records, reading_env

pytestmark = [pytest.mark.anyio, pytest.mark.pacs, pytest.mark.service]


# --- the scan can fail ------------------------------------------------------------------------------


async def test_the_canary_scan_finds_canaries_in_an_identified_answer(
    plain_service: RunningService, store: StoreScp
) -> None:
    async with mcp_client(plain_service.mcp_url, "modern") as client:
        t = Transcript(client)
        walked = await walk(t, {})
        await t.ok("get_instance_metadata", sop_instance_uid=walked.uid("sr"))
        follow_up = await t.ok("query_series", study_instance_uid=walked.studies[1]["StudyInstanceUID"])
        for match in follow_up["matches"]:
            await t.ok("query_instances", series_instance_uid=match["SeriesInstanceUID"])
    missed = set(PLANTED) - t.seen()
    assert missed == set(), "an identified walk shows every planted value; these the scan did not find"
    assert walked.patient["PatientName"] == PATIENT_NAME
    assert len(t.hits()) > len(PLANTED)
    # The pictures hold no text, in either view: the canaries are in headers, reports and answers.
    assert len(t.pictures) == 9  # the CT slice, the US, the SC; three thumbnails; three frames
    assert [problem for _, data in t.pictures for problem in picture_problems(data)] == []


# --- the walk ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("pacs_name", ["orthanc", "dcmqrscp"])
async def test_a_researcher_walks_from_patient_to_move_with_tokens_and_learns_no_identifier(
    service: RunningService,
    request: pytest.FixtureRequest,
    canary: tuple[CanaryStudy, CanaryStudy],
    store: StoreScp,
    pacs_name: str,
) -> None:
    pacs: RunningPacs = request.getfixturevalue(f"canary_{pacs_name}")
    first, _ = canary
    async with as_principal(service, "researcher") as t:
        walked = await walk(t, await aim(t, pacs))
    assert_no_canary(t, log=service.log())
    # Every step answered, in tokens, and the move sent the real study.
    assert (walked.moved["completed"], walked.moved["failed"]) == (first.instance_count, 0)
    assert sorted(store.received(pacs.ae_title)) == originals(first)
    pid = walked.patient["PatientID"]
    assert walked.patient["PatientName"] == f"PATIENT^{pid}"
    assert [study["PatientID"] for study in walked.studies] == [pid, pid]
    assert {kind: match["Modality"] for kind, match in walked.series.items()} == {
        "ct": "CT",
        "sr": "SR",
        "pdf": "DOC",
        "us": "US",
        "sc": "CT",
    }
    assert walked.header["sop_instance_uid"] == walked.uid("ct", 1)
    assert walked.header["attributes"]["StudyInstanceUID"] == walked.study_uid
    assert {report["kind"] for report in walked.reports.values()} == {"sr", "pdf"}
    assert not walked.image.is_error
    assert [frame["sop_instance_uid"] for frame in walked.frames["frames"]] == [
        walked.uid("ct", n) for n in range(3)
    ]
    assert len(t.pictures) == 1 + 1 + 3  # the slice, one thumbnail (CT), three frames


async def test_the_audit_trail_keeps_the_originals_and_names_the_view(
    service: RunningService, service_workdir: Path, canary: tuple[CanaryStudy, CanaryStudy]
) -> None:
    first, _ = canary
    async with as_principal(service, "researcher") as t:
        seen = await identifiers(t)
        slices = await ct_slices(t, seen["studies"][0]["StudyInstanceUID"])
        await t.ok("render_image", sop_instance_uid=slices[1]["SOPInstanceUID"])
    async with as_principal(service, "radiologist") as radiologist:
        await radiologist.ok("query_studies", patient_id=PATIENT_ID)
    *_, researcher_query, radiologist_query = audit_records(service_workdir, "query_studies")
    assert (researcher_query["principal"], researcher_query["view"]) == ("researcher", "pseudonymised")
    assert researcher_query["keys"] == {"PatientID": PATIENT_ID}
    assert (radiologist_query["principal"], radiologist_query["view"]) == ("radiologist", "identified")
    render = audit_records(service_workdir, "render_image")[-1]
    assert (render["view"], render["outcome"]) == ("pseudonymised", "success")
    assert render["keys"]["sop_instance_uid"] == first.of_kind("ct").sop_uids[1]


# --- the identified caller --------------------------------------------------------------------------


async def test_an_identified_caller_on_the_same_service_sees_what_the_service_showed_before(
    service: RunningService,
    plain_service: RunningService,
    canary: tuple[CanaryStudy, CanaryStudy],
    store: StoreScp,
) -> None:
    first, _ = canary
    ct_slice = first.of_kind("ct").sop_uids[1]
    calls: list[tuple[str, dict[str, Any]]] = [
        ("query_patients", {"patient_id": PATIENT_ID}),
        ("query_studies", {"patient_id": PATIENT_ID, "attribute_preset": "extended"}),
        ("query_series", {"study_instance_uid": first.study_uid}),
        ("query_instances", {"series_instance_uid": first.of_kind("ct").series_uid}),
        ("get_instance_metadata", {"sop_instance_uid": ct_slice}),
        ("read_report", {"study_instance_uid": first.study_uid}),
        ("render_image", {"sop_instance_uid": first.of_kind("us").sop_uids[0]}),
        ("open_study_viewer", {"study_instance_uid": first.study_uid}),
        ("move_series", {"series_instance_uid": first.of_kind("sr").series_uid, "destination": DESTINATION}),
    ]
    async with (
        as_principal(service, "radiologist") as now,
        mcp_client(plain_service.mcp_url, "modern") as before,
    ):
        for tool, arguments in calls:
            result = await now.result(tool, **arguments)
            assert not result.is_error, (tool, result.content)
            expected = await before.call_tool(tool, arguments)
            assert result.model_dump(mode="json") == expected.model_dump(mode="json"), tool
    assert {PATIENT_NAME, PATIENT_ID, BIRTH_DATE, first.accession, first.study_uid, OBSERVER} <= now.seen()


# --- stdio, replicas, scrubbed text -----------------------------------------------------------------


async def test_the_walk_over_stdio_in_the_pseudonymised_view_learns_no_identifier(
    canary_orthanc: RunningPacs,
    canary_dcmqrscp: RunningPacs,
    store: StoreScp,
    pseudonym_key: Path,
    canary: tuple[CanaryStudy, CanaryStudy],
    tmp_path: Path,
) -> None:
    env = reading_env(
        tmp_path,
        canary_orthanc,
        canary_dcmqrscp,
        store,
        view="pseudonymised",
        pseudonym_key_file=str(pseudonym_key),
    )
    log = tmp_path / "stdio.log"
    async with stdio_service(env, log) as client:
        t = Transcript(client)
        walked = await walk(t, {})
    assert_no_canary(t, log=log.read_text(encoding="utf-8"))
    assert is_uid_token(walked.study_uid)
    assert TOKENS["PatientID"].fullmatch(walked.patient["PatientID"])
    assert walked.moved["completed"] == canary[0].instance_count
    assert sorted(store.received(canary_orthanc.ae_title)) == originals(canary[0])
    assert {record["view"] for record in audit_records(tmp_path, "move_study")} == {"pseudonymised"}


async def test_replicas_on_one_redis_give_the_same_tokens_and_resolve_each_others(
    redis_db: RedisServer,
    canary_orthanc: RunningPacs,
    canary_dcmqrscp: RunningPacs,
    store: StoreScp,
    pseudonym_key: Path,
    tmp_path: Path,
) -> None:
    env = reading_env(
        tmp_path,
        canary_orthanc,
        canary_dcmqrscp,
        store,
        api_keys_file=str(write_keys(tmp_path / "api-keys")),
        pseudonym_key_file=str(pseudonym_key),
        session_store=redis_db.url,
    )
    with run_service(tmp_path, env) as a, run_service(tmp_path, env) as b:
        async with as_principal(a, "researcher") as on_a, as_principal(b, "researcher") as on_b:
            (patient,) = (await on_a.ok("query_patients"))["matches"]
            found = await on_a.ok("query_studies", patient_id=patient["PatientID"])
            study = min(found["matches"], key=lambda match: str(match["StudyDate"]))["StudyInstanceUID"]
            series = (await on_a.ok("query_series", study_instance_uid=study, series_number="1"))["matches"]
            ct = str(series[0]["SeriesInstanceUID"])
            # B never gave out the series token A gave: it resolves it through Redis.
            slices_b = await on_b.ok("query_instances", series_instance_uid=ct)
            slices_a = await on_a.ok("query_instances", series_instance_uid=ct)
            assert slices_b["matches"] == slices_a["matches"] and slices_b["count"] == 3
            assert await identifiers(on_b) == await identifiers(on_a)
        logs = a.log() + b.log()
    with run_service(tmp_path, env) as later:  # a replica started afterwards, with nothing in memory
        async with as_principal(later, "researcher") as on_later:
            slices_later = await on_later.ok("query_instances", series_instance_uid=ct)
        logs += later.log()
    assert slices_later["matches"] == slices_a["matches"]
    assert_no_canary(on_a, on_b, on_later, log=logs)


async def test_scrubbed_report_text_keeps_the_findings_and_no_identifier_of_the_patient(
    canary_orthanc: RunningPacs,
    canary_dcmqrscp: RunningPacs,
    store: StoreScp,
    pseudonym_key: Path,
    tmp_path: Path,
) -> None:
    env = reading_env(
        tmp_path,
        canary_orthanc,
        canary_dcmqrscp,
        store,
        view="pseudonymised",
        pseudonymised_text="scrub",
        pseudonym_key_file=str(pseudonym_key),
    )
    with run_service(tmp_path, env) as running:
        async with mcp_client(running.mcp_url, "modern") as client:
            t = Transcript(client)
            walked = await walk(t, {}, move=False)
        log = running.log()
    kept = {"sr": ("spiculated nodule", "three months"), "pdf": ("solid nodule of 8.5 mm", "three months")}
    for kind, words in kept.items():
        report = walked.reports[kind]
        assert "scrubbed, best effort" in json.dumps(report), report
        for words_kept in words:
            assert words_kept in str(report["text"]), (kind, report["text"])
    assert_no_canary(t, canaries=PATIENT_CANARIES)
    assert_no_canary(t, log=log)
