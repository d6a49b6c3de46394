"""`python -m dicom_mcp --demo`, for real: the service and its sample PACS answer every tool.

The calls and answers here are the README's "first session"; if one changes, so must the README.
"""

from __future__ import annotations

import base64
import io
import re
import sys
from typing import Any

import numpy as np
import pytest
from mcp import Client, StdioServerParameters
from PIL import Image

from testbeds.clients import call_ok, mcp_client
from testbeds.service import RunningService, service_env

pytestmark = [pytest.mark.anyio, pytest.mark.service]

DEMO_NAMES = ("DEMO^ALICE", "DEMO^BRUNO", "DEMO^Zoë", "DEMO^CARLOS", "DEMO^DIANA")


def text_of(result: Any) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)


def test_start_up_says_the_sample_pacs_is_the_default_and_how_to_use_a_real_one(demo: RunningService) -> None:
    log = demo.log()
    assert re.search(
        r"default PACS is the built-in sample PACS, SAMPLE-PACS@127\.0\.0\.1:\d+ \(loopback only\)", log
    )
    assert f"connect an MCP client to {demo.mcp_url}" in log
    assert "run without --demo and set DICOM_HOST, DICOM_PORT and DICOM_CALLED_AE_TITLE" in log
    assert re.search(r"default PACS SAMPLE-PACS@127\.0\.0\.1:\d+", log)


async def test_a_first_session_answers_every_tool(demo: RunningService) -> None:
    async with mcp_client(demo.mcp_url, "modern") as client:
        echo = await call_ok(client, "verify_connection")
        patients = await call_ok(client, "query_patients")
        studies = await call_ok(client, "query_studies", patient_id="DEMO-001")
        follow_up = next(s for s in studies["matches"] if s["StudyDescription"] == "CT CHEST FOLLOW-UP")
        series = await call_ok(client, "query_series", study_instance_uid=follow_up["StudyInstanceUID"])
        ct = next(s for s in series["matches"] if s["Modality"] == "CT")
        slices = await call_ok(client, "query_instances", series_instance_uid=ct["SeriesInstanceUID"])
        middle = slices["matches"][6]["SOPInstanceUID"]  # the slice with the nodule
        header = await call_ok(client, "get_instance_metadata", sop_instance_uid=middle)
        reports = await call_ok(client, "read_report", study_instance_uid=follow_up["StudyInstanceUID"])
        image = await client.call_tool("render_image", {"sop_instance_uid": middle})
    assert (echo["success"], echo["ae_title"]) == (True, "SAMPLE-PACS")
    assert [p["PatientName"] for p in patients["matches"]] == list(DEMO_NAMES)
    assert [s["StudyDate"] for s in studies["matches"]] == ["20190311", "20240520"]
    assert follow_up["ModalitiesInStudy"] == ["CT", "DOC", "SR"]
    assert [(s["Modality"], s["SeriesDescription"]) for s in series["matches"]] == [
        ("CT", "AXIAL 5MM"),
        ("SR", "RADIOLOGY REPORT"),
        ("DOC", "SIGNED REPORT (PDF)"),
    ]
    assert [i["InstanceNumber"] for i in slices["matches"]] == list(range(1, 13))
    assert header["transfer_syntax"] == "RLE Lossless"
    assert header["attributes"]["PatientIdentityRemoved"] == "YES"
    sr, pdf = reports["reports"]
    assert (sr["kind"], sr["verification_flag"], sr["verifying_observer"]) == (
        "sr",
        "VERIFIED",
        "DEMO^RADIOLOGIST",
    )
    assert "Diameter: 9 mm" in sr["text"] and "Impression: Growing pulmonary nodule" in sr["text"]
    assert pdf["kind"] == "pdf" and "Signed: DEMO^RADIOLOGIST" in pdf["text"]
    assert not image.is_error and image.structured_content is not None
    assert image.structured_content["window"] == {"center": 40.0, "width": 400.0, "source": "instance"}
    png = next(block for block in image.content if block.type == "image")
    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(png.data))))
    assert (pixels[5, 5], pixels[186, 128]) == (0, 255)  # air, and the spine in a soft-tissue window
    assert 100 < pixels[60, 128] < 160  # muscle, 40 HU: the window's centre


async def test_queries_match_names_in_any_case_and_a_multi_frame_cine_renders_any_frame(
    demo: RunningService,
) -> None:
    async with mcp_client(demo.mcp_url, "legacy") as client:
        zoe = await call_ok(client, "query_patients", name_pattern="demo^zo*")
        us = await call_ok(client, "query_studies", modality_in_study="US")
        study = us["matches"][0]["StudyInstanceUID"]
        series = await call_ok(client, "query_series", study_instance_uid=study, series_description="*CINE")
        (cine,) = (
            await call_ok(
                client, "query_instances", series_instance_uid=series["matches"][0]["SeriesInstanceUID"]
            )
        )["matches"]
        frame = await call_ok(client, "render_image", sop_instance_uid=cine["SOPInstanceUID"], frame=8)
    assert [p["PatientName"] for p in zoe["matches"]] == ["DEMO^Zoë"]
    assert (frame["number_of_frames"], frame["frame"], frame["transfer_syntax"]) == (16, 8, "RLE Lossless")


def test_the_log_holds_no_patient_data(demo: RunningService) -> None:
    log = demo.log()
    assert "DEMO-001" not in log
    assert not [name for name in DEMO_NAMES if name in log or name.split("^")[1] in log]


async def test_the_demo_over_stdio() -> None:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "dicom_mcp", "--transport", "stdio", "--demo"], env=service_env()
    )
    async with Client(params) as client:
        patients = await call_ok(client, "query_patients", attribute_preset="extended")
        studies = await call_ok(client, "query_studies", study_date="20240101-20241231")
    assert (
        patients["count"] == 5 and sum(p["NumberOfPatientRelatedStudies"] for p in patients["matches"]) == 7
    )
    assert {s["AccessionNumber"] for s in studies["matches"]} == {"DEMO3001", "DEMO1002"}
