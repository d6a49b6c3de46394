"""Reading a study through the real service: instance headers and report text, from Orthanc and dcmqrscp.

The study (`Catalog.report_study`) holds CT slices with pixel data, a Comprehensive SR and an
Encapsulated PDF whose content testbeds/pacs/reports.py spells out; every other study has no
report. Calls go over HTTP (modern, older and SSE clients) and stdio.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testbeds.clients import call_error, call_ok, mcp_client, stdio_client
from testbeds.pacs import Catalog, Instance, RunningPacs
from testbeds.pacs.ct_slices import COLUMNS, PRIVATE_BLOB_BYTES, ROWS, SLICE_THICKNESS
from testbeds.pacs.dataset import CT_SLICES, PDF_REPORT, STRUCTURED_REPORT
from testbeds.pacs.reports import (
    OBSERVER,
    PDF_LINES,
    PDF_TITLE,
    REFERENCED_SLICE,
    SR_TITLE,
    sr_outline_lines,
)
from testbeds.service import RunningService, run_service
from testbeds.store import StoreScp
from tests.reading_beds import aimed_at, audit_records, reading_env

pytestmark = pytest.mark.anyio

UNKNOWN_UID = "1.2.826.0.1.3680043.8.498.4242.999.1"


@pytest.fixture(scope="module")
def service(
    orthanc: RunningPacs,
    dcmqrscp: RunningPacs,
    move_destination: StoreScp,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningService]:
    workdir = tmp_path_factory.mktemp("reading")
    with run_service(workdir, reading_env(workdir, orthanc, dcmqrscp, move_destination)) as running:
        yield running


@pytest.fixture(params=["orthanc", "dcmqrscp"])
def pacs(request: pytest.FixtureRequest) -> RunningPacs:
    """Each real PACS in turn."""
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


def ct_slice(catalog: Catalog, number: int = REFERENCED_SLICE) -> Instance:
    (series,) = catalog.series_with_content(CT_SLICES)
    return catalog.instances_for_series(series.series_uid)[number - 1]


def only_instance(catalog: Catalog, content: str) -> Instance:
    (series,) = catalog.series_with_content(content)
    (instance,) = catalog.instances_for_series(series.series_uid)
    return instance


def by_kind(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    reports = {report["kind"]: report for report in result["reports"]}
    assert len(reports) == len(result["reports"])
    return reports


# --- get_instance_metadata ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["modern", "legacy"])
async def test_a_ct_header_comes_from_the_sop_instance_uid_alone(
    service: RunningService, pacs: RunningPacs, pacs_catalog: Catalog, mode: str
) -> None:
    instance = ct_slice(pacs_catalog)
    series = pacs_catalog.series_by_uid(instance.series_uid)
    study = pacs_catalog.study_by_uid(series.study_uid)
    patient = pacs_catalog.patient_by_id(study.patient_id)
    async with mcp_client(service.mcp_url, mode) as client:
        target = await aimed_at(client, pacs)
        result = await client.call_tool(
            "get_instance_metadata", {"sop_instance_uid": instance.sop_uid, **target}
        )
    assert not result.is_error, result.content
    header = result.structured_content
    assert header is not None
    assert (header["sop_instance_uid"], header["sop_class_uid"], header["sop_class"]) == (
        instance.sop_uid,
        series.sop_class_uid,
        "CT Image Storage",
    )
    assert header["transfer_syntax"] == "Explicit VR Little Endian"
    assert header["truncated"] is False
    attributes = header["attributes"]
    assert {
        key: attributes[key]
        for key in ("PatientName", "PatientID", "PatientBirthDate", "StudyInstanceUID", "SeriesInstanceUID")
    } == {
        "PatientName": patient.name,
        "PatientID": patient.patient_id,
        "PatientBirthDate": patient.birth_date,
        "StudyInstanceUID": study.study_uid,
        "SeriesInstanceUID": series.series_uid,
    }
    assert (attributes["AccessionNumber"], attributes["InstanceNumber"]) == (study.accession_number, 2)
    assert (attributes["Rows"], attributes["Columns"]) == (ROWS, COLUMNS)
    assert attributes["SliceThickness"] == SLICE_THICKNESS
    assert attributes["ImageType"] == ["ORIGINAL", "PRIMARY", "AXIAL"]
    assert attributes["WindowCenter"] == [40, -600]
    assert attributes["CTDIPhantomTypeCodeSequence"] == [
        {"CodeValue": "113691", "CodingSchemeDesignator": "DCM", "CodeMeaning": "IEC Body Dosimetry Phantom"}
    ]
    (request,) = attributes["RequestAttributesSequence"]
    assert request["ScheduledProtocolCodeSequence"][0]["CodeMeaning"] == "CT CHEST WITHOUT IV CONTRAST"
    assert attributes["PixelData"] == {"bulk_data": True, "vr": "OW", "bytes": ROWS * COLUMNS * 2}
    assert attributes["(0029,0010)"] == {"vr": "LO", "value": "SIEMENS CSA HEADER"}
    assert attributes["(0029,1010)"] == {"vr": "OB", "value": None, "bytes": PRIVATE_BLOB_BYTES}
    # The whole answer, as the model reads it, is a few KB, not the half-megabyte instance.
    text = result.content[0].text  # type: ignore[union-attr]
    assert json.loads(text) == header
    assert 2_000 < len(text.encode()) < 30_000


@pytest.mark.parametrize("parents", ["series", "series and study"])
async def test_parent_uids_may_be_given_too(
    service: RunningService, pacs: RunningPacs, pacs_catalog: Catalog, parents: str
) -> None:
    instance = only_instance(pacs_catalog, STRUCTURED_REPORT)
    known = {"series_instance_uid": instance.series_uid}
    if parents == "series and study":
        known["study_instance_uid"] = pacs_catalog.report_study.study_uid
    async with mcp_client(service.mcp_url, "modern") as client:
        header = await call_ok(
            client,
            "get_instance_metadata",
            sop_instance_uid=instance.sop_uid,
            **known,
            **await aimed_at(client, pacs),
        )
    assert (header["sop_instance_uid"], header["sop_class"]) == (instance.sop_uid, "Comprehensive SR Storage")
    attributes = header["attributes"]
    assert attributes["VerificationFlag"] == "VERIFIED"
    (observer,) = attributes["VerifyingObserverSequence"]
    assert observer["VerifyingObserverName"] == OBSERVER
    assert attributes["ConceptNameCodeSequence"][0]["CodeMeaning"] == SR_TITLE


async def test_an_encapsulated_document_is_a_bulk_note_in_the_header(
    service: RunningService, pacs: RunningPacs, pacs_catalog: Catalog
) -> None:
    instance = only_instance(pacs_catalog, PDF_REPORT)
    async with mcp_client(service.mcp_url, "modern") as client:
        header = await call_ok(
            client, "get_instance_metadata", sop_instance_uid=instance.sop_uid, **await aimed_at(client, pacs)
        )
    attributes = header["attributes"]
    assert attributes["MIMETypeOfEncapsulatedDocument"] == "application/pdf"
    document = attributes["EncapsulatedDocument"]
    assert document["bulk_data"] is True
    assert document["bytes"] in (
        attributes["EncapsulatedDocumentLength"],
        attributes["EncapsulatedDocumentLength"] + 1,
    )


async def test_an_unknown_instance_is_not_found(service: RunningService, pacs: RunningPacs) -> None:
    async with mcp_client(service.mcp_url, "modern") as client:
        message = await call_error(
            client, "get_instance_metadata", sop_instance_uid=UNKNOWN_UID, **await aimed_at(client, pacs)
        )
    assert message.startswith("not found: ")
    assert "no instance with that SOP Instance UID" in message


# --- read_report ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["modern", "legacy", "sse"])
async def test_a_studys_reports_are_read_as_text(
    service: RunningService, pacs: RunningPacs, pacs_catalog: Catalog, mode: str
) -> None:
    study = pacs_catalog.report_study
    sr = only_instance(pacs_catalog, STRUCTURED_REPORT)
    pdf = only_instance(pacs_catalog, PDF_REPORT)
    async with mcp_client(service.mcp_url, mode) as client:
        result = await call_ok(
            client, "read_report", study_instance_uid=study.study_uid, **await aimed_at(client, pacs)
        )
    assert result["study_instance_uid"] == study.study_uid
    reports = by_kind(result)
    assert set(reports) == {"sr", "pdf"}
    iso_date = f"{study.date[:4]}-{study.date[4:6]}-{study.date[6:]}"
    # Title, headings, then one "Concept: value" line per item, each level two spaces deeper:
    # PNAME, TEXT, CODE (its meaning), NUM (value and unit), IMAGE, DATE (ISO) and UIDREF.
    outline = sr_outline_lines(study.study_uid, ct_slice(pacs_catalog).sop_uid)
    assert reports["sr"]["text"].splitlines() == outline
    assert reports["sr"] == {
        "sop_instance_uid": sr.sop_uid,
        "series_instance_uid": sr.series_uid,
        "kind": "sr",
        "title": SR_TITLE,
        "content_date": iso_date,
        "completion_flag": "COMPLETE",
        "verification_flag": "VERIFIED",
        "verifying_observer": OBSERVER,
        "text": "\n".join(outline),
        "truncated": False,
    }
    assert reports["pdf"] == {
        "sop_instance_uid": pdf.sop_uid,
        "series_instance_uid": pdf.series_uid,
        "kind": "pdf",
        "title": PDF_TITLE,
        "content_date": iso_date,
        "completion_flag": None,
        "verification_flag": None,
        "verifying_observer": None,
        "text": "\n".join(PDF_LINES),
        "truncated": False,
    }


async def test_one_report_can_be_asked_for_by_its_uid(
    service: RunningService, pacs: RunningPacs, pacs_catalog: Catalog
) -> None:
    pdf = only_instance(pacs_catalog, PDF_REPORT)
    async with mcp_client(service.mcp_url, "modern") as client:
        target = await aimed_at(client, pacs)
        result = await call_ok(
            client,
            "read_report",
            study_instance_uid=pacs_catalog.report_study.study_uid,
            sop_instance_uid=pdf.sop_uid,
            **target,
        )
        missing = await call_error(
            client,
            "read_report",
            study_instance_uid=pacs_catalog.report_study.study_uid,
            sop_instance_uid=ct_slice(pacs_catalog).sop_uid,
            **target,
        )
    assert [(r["kind"], r["sop_instance_uid"]) for r in result["reports"]] == [("pdf", pdf.sop_uid)]
    assert missing == "not found: the study has no report with that SOP Instance UID"


async def test_a_study_without_reports_gives_an_empty_list(
    service: RunningService, pacs: RunningPacs, pacs_catalog: Catalog
) -> None:
    studies = [s for s in pacs_catalog.studies if not {"SR", "DOC"} & set(s.modalities)]
    assert len(studies) == len(pacs_catalog.studies) - 1
    async with mcp_client(service.mcp_url, "modern") as client:
        target = await aimed_at(client, pacs)
        for study in (studies[0], pacs_catalog.study_by_accession("ACC3001")):
            result = await call_ok(client, "read_report", study_instance_uid=study.study_uid, **target)
            assert result == {"study_instance_uid": study.study_uid, "reports": []}


async def test_an_unknown_study_is_not_found(service: RunningService, pacs: RunningPacs) -> None:
    async with mcp_client(service.mcp_url, "legacy") as client:
        message = await call_error(
            client, "read_report", study_instance_uid=UNKNOWN_UID, **await aimed_at(client, pacs)
        )
    assert message.startswith("not found: ")
    assert "no study with that Study Instance UID" in message


async def test_report_text_is_cut_at_the_setting(
    orthanc: RunningPacs,
    dcmqrscp: RunningPacs,
    move_destination: StoreScp,
    pacs_catalog: Catalog,
    tmp_path: Path,
) -> None:
    env = reading_env(tmp_path, orthanc, dcmqrscp, move_destination, report_max_chars="100")
    with run_service(tmp_path, env) as small:
        async with mcp_client(small.mcp_url, "modern") as client:
            result = await call_ok(
                client, "read_report", study_instance_uid=pacs_catalog.report_study.study_uid
            )
    reports = by_kind(result)
    whole = {
        "sr": "\n".join(sr_outline_lines(pacs_catalog.report_study.study_uid, ct_slice(pacs_catalog).sop_uid))
    }
    whole["pdf"] = "\n".join(PDF_LINES)
    for kind, report in reports.items():
        assert (report["text"], report["truncated"]) == (whole[kind][:100], True), kind


# --- the byte cap ------------------------------------------------------------------------------------


async def test_a_retrieval_past_the_byte_cap_is_a_clear_error_and_the_service_goes_on(
    orthanc: RunningPacs,
    dcmqrscp: RunningPacs,
    move_destination: StoreScp,
    pacs_catalog: Catalog,
    tmp_path: Path,
) -> None:
    cap = 2**16  # the smallest the setting allows: an SR fits, a 512x512 CT slice does not
    env = reading_env(tmp_path, orthanc, dcmqrscp, move_destination, max_retrieve_bytes=str(cap))
    with run_service(tmp_path, env) as capped:
        async with mcp_client(capped.mcp_url, "modern") as client:
            for pacs in (orthanc, dcmqrscp):
                target = await aimed_at(client, pacs)
                message = await call_error(
                    client, "get_instance_metadata", sop_instance_uid=ct_slice(pacs_catalog).sop_uid, **target
                )
                assert message.startswith("too large: "), message
                assert f"passed the cap of {cap} bytes per call (DICOM_MCP_MAX_RETRIEVE_BYTES)" in message
                reports = await call_ok(
                    client, "read_report", study_instance_uid=pacs_catalog.report_study.study_uid, **target
                )
                assert {r["kind"] for r in reports["reports"]} == {"sr", "pdf"}
                assert (await call_ok(client, "verify_connection", **target))["success"] is True
    (record, *_) = [r for r in audit_records(tmp_path, "get_instance_metadata") if r["outcome"] == "error"]
    assert record["error"].startswith("too large: ")


# --- audit, stdio ------------------------------------------------------------------------------------


async def test_reads_are_audited_with_what_was_accessed(
    orthanc: RunningPacs,
    dcmqrscp: RunningPacs,
    move_destination: StoreScp,
    pacs_catalog: Catalog,
    tmp_path: Path,
) -> None:
    study = pacs_catalog.report_study
    instance = ct_slice(pacs_catalog)
    with run_service(tmp_path, reading_env(tmp_path, orthanc, dcmqrscp, move_destination)) as running:
        async with mcp_client(running.mcp_url, "modern") as client:
            await call_ok(client, "get_instance_metadata", sop_instance_uid=instance.sop_uid)
            await call_ok(client, "read_report", study_instance_uid=study.study_uid)
            await call_error(client, "read_report", study_instance_uid=UNKNOWN_UID)
    (header,) = audit_records(tmp_path, "get_instance_metadata")
    assert header["event"] == "read"
    assert header["event_id"] == {"code": "110103", "system": "DCM", "meaning": "DICOM Instances Accessed"}
    assert (header["outcome"], header["instances"], header["node"]) == ("success", 1, "default")
    assert header["keys"] == {"sop_instance_uid": instance.sop_uid}
    assert header["called_ae_title"] == orthanc.ae_title
    read, unknown = audit_records(tmp_path, "read_report")
    assert (read["event"], read["outcome"], read["instances"]) == ("read", "success", 2)
    assert read["keys"] == {"study_instance_uid": study.study_uid}
    assert (unknown["outcome"], unknown["keys"]) == ("error", {"study_instance_uid": UNKNOWN_UID})
    assert unknown["error"].startswith("not found: ")


async def test_stdio_reads_headers_and_reports_from_both_pacs(
    orthanc: RunningPacs,
    dcmqrscp: RunningPacs,
    move_destination: StoreScp,
    pacs_catalog: Catalog,
    tmp_path: Path,
) -> None:
    env = reading_env(tmp_path, orthanc, dcmqrscp, move_destination)
    study = pacs_catalog.report_study
    async with stdio_client(env) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert {"get_instance_metadata", "read_report", "move_study", "move_series"} <= names
        for pacs in (orthanc, dcmqrscp):
            if pacs is dcmqrscp:  # on stdio the choice binds to the process's one client
                await call_ok(client, "configure_dicom_server", node="dcmqrscp")
                assert (await call_ok(client, "verify_connection"))["ae_title"] == dcmqrscp.ae_title
            header = await call_ok(
                client, "get_instance_metadata", sop_instance_uid=ct_slice(pacs_catalog).sop_uid
            )
            assert header["attributes"]["PatientID"] == study.patient_id
            reports = by_kind(await call_ok(client, "read_report", study_instance_uid=study.study_uid))
            assert reports["pdf"]["text"] == "\n".join(PDF_LINES)
            assert reports["sr"]["verifying_observer"] == OBSERVER


# --- the documented examples (docs/users/reading.md) ----------------------------------------------


def readme_section(title: str) -> str:
    text = (Path(__file__).resolve().parents[1] / "docs" / "users" / "reading.md").read_text(encoding="utf-8")
    return text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def blocks(section: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", section, flags=re.DOTALL)


def call_of(example: str) -> tuple[str, dict[str, Any]]:
    """A documented example `tool(name=value, ...)` as the tool's name and arguments."""
    call = ast.parse(example.strip(), mode="eval").body
    assert isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and not call.args
    return call.func.id, {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg}


def contains(whole: Any, part: Any) -> bool:
    """`part` is `whole` with some object members left out."""
    if isinstance(part, dict):
        return isinstance(whole, dict) and all(k in whole and contains(whole[k], v) for k, v in part.items())
    return bool(whole == part)


async def test_the_readmes_reading_examples_are_what_the_service_answers(
    service: RunningService, orthanc: RunningPacs, move_destination: StoreScp
) -> None:
    section = readme_section("Reading a study")
    calls = [call_of(block) for block in blocks(section, "python")]
    results = [json.loads(block) for block in blocks(section, "json")]
    (outline,) = blocks(section, "text")
    assert [tool for tool, _ in calls] == ["get_instance_metadata", "read_report", "move_study"]
    async with mcp_client(service.mcp_url, "modern") as client:
        header, reports, moved = [await call_ok(client, tool, **arguments) for tool, arguments in calls]
    assert contains(header, results[0])
    shown = len(results[0]["attributes"])
    assert f"({shown} of the slice's {len(header['attributes'])} attributes shown.)" in section
    assert f"about {round(len(json.dumps(header)) / 1000)} KB of JSON" in section
    sr = by_kind(reports)["sr"]
    assert contains(sr, results[1])
    assert sr["text"] == outline.rstrip("\n")
    assert moved == results[2]
    assert len(move_destination.received(orthanc.ae_title)) >= moved["completed"]
