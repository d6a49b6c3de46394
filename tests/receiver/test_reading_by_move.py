"""Reading from PACS that offer no C-GET: by C-MOVE to the service's own receiver.

Orthanc refusing C-GET (the default PACS) and dcmqrscp with --disable-get (the node `dcmqrscp`)
hold the standard data set; every answer read from them by C-MOVE, with `retrieve` "auto" and
"move", is the answer the reference service reads from the same data set by C-GET: JSON value
for value, PNG byte for byte. See tests/receiver/conftest.py for the beds.
"""

from __future__ import annotations

import asyncio
import base64
import time
from pathlib import Path
from typing import Any

import pydicom
import pytest

from testbeds.clients import call_error, call_ok, mcp_client
from testbeds.move_faults import foreign_stores
from testbeds.net import AssociationSampler, free_port
from testbeds.pacs import Catalog, Instance, RunningPacs
from testbeds.pacs.dataset import CT_SLICES, PDF_REPORT, STRUCTURED_REPORT
from testbeds.service import RunningService, run_service
from testbeds.store import Destination
from tests.receiver.beds import (
    LOST,
    MOVER,
    aim,
    answer,
    ct_slice,
    is_refusal,
    mover_env,
    only_instance,
    refused,
    stdio_service,
)

pytestmark = pytest.mark.anyio

PACS = ("orthanc", "dcmqrscp")
UNKNOWN_UID = "1.2.826.0.1.3680043.8.498.4242.999.1"
SLACK = 5.0  # a C-FIND, an association or two, HTTP and scheduling on a loaded machine
CONCURRENT = 16


def rejected_gets(pacs: RunningPacs, ae_title: str) -> int:
    """How many C-GETs from `ae_title` the no-C-GET Orthanc has refused, from its log."""
    return pacs.log_path.read_text(errors="replace").count(
        f'Rejected Get request from remote DICOM modality with AET "{ae_title}"'
    )


# --- the same answers as by C-GET ---------------------------------------------------------------


@pytest.mark.parametrize("pacs", PACS)
@pytest.mark.parametrize("content", [CT_SLICES, STRUCTURED_REPORT, PDF_REPORT])
async def test_a_header_read_by_move_is_the_header_read_by_get(
    mover: RunningService, reference: RunningService, pacs_catalog: Catalog, pacs: str, content: str
) -> None:
    instance = ct_slice(pacs_catalog) if content == CT_SLICES else only_instance(pacs_catalog, content)
    moved = await answer(mover, pacs, "get_instance_metadata", sop_instance_uid=instance.sop_uid)
    assert not moved.is_error, moved.blocks
    assert moved == await answer(reference, pacs, "get_instance_metadata", sop_instance_uid=instance.sop_uid)


@pytest.mark.parametrize("pacs", PACS)
async def test_reports_read_by_move_are_the_reports_read_by_get(
    mover: RunningService, reference: RunningService, pacs_catalog: Catalog, pacs: str
) -> None:
    study = pacs_catalog.report_study.study_uid
    pdf = only_instance(pacs_catalog, PDF_REPORT).sop_uid
    for arguments in ({"study_instance_uid": study}, {"study_instance_uid": study, "sop_instance_uid": pdf}):
        moved = await answer(mover, pacs, "read_report", **arguments)
        assert not moved.is_error, moved.blocks
        assert moved.structured is not None and moved.structured["reports"]
        assert moved == await answer(reference, pacs, "read_report", **arguments)


@pytest.mark.parametrize("pacs", PACS)
@pytest.mark.parametrize(
    "how", [{}, {"window_center": 0, "window_width": 2000, "max_size": 128}], ids=["own window", "callers"]
)
async def test_an_image_rendered_by_move_is_the_png_rendered_by_get(
    mover: RunningService, reference: RunningService, pacs_catalog: Catalog, pacs: str, how: dict[str, int]
) -> None:
    uid = ct_slice(pacs_catalog).sop_uid
    moved = await answer(mover, pacs, "render_image", sop_instance_uid=uid, **how)
    assert not moved.is_error, moved.blocks
    (image,) = [block for block in moved.blocks if block["type"] == "image"]
    assert base64.b64decode(image["data"]).startswith(b"\x89PNG\r\n\x1a\n")
    assert moved == await answer(reference, pacs, "render_image", sop_instance_uid=uid, **how)


@pytest.mark.parametrize("pacs", PACS)
async def test_an_unknown_instance_is_not_found_as_by_get(
    mover: RunningService, reference: RunningService, pacs: str
) -> None:
    moved = await answer(mover, pacs, "get_instance_metadata", sop_instance_uid=UNKNOWN_UID)
    assert moved.is_error
    assert moved == await answer(reference, pacs, "get_instance_metadata", sop_instance_uid=UNKNOWN_UID)


async def test_auto_asks_for_c_get_once_and_move_never(
    mover: RunningService, noget_orthanc: RunningPacs, pacs_catalog: Catalog, request: pytest.FixtureRequest
) -> None:
    mode = request.node.callspec.params["mover"]
    before = rejected_gets(noget_orthanc, MOVER)
    for number in (1, 2, 3, 1):
        moved = await answer(
            mover, "orthanc", "get_instance_metadata", sop_instance_uid=ct_slice(pacs_catalog, number).sop_uid
        )
        assert not moved.is_error, moved.blocks
    asked = rejected_gets(noget_orthanc, MOVER) - before
    # "auto" remembers the refusal for a while: at most this series' first read tries C-GET.
    assert asked <= 1 if mode == "auto" else asked == 0


# --- many callers -----------------------------------------------------------------------------------


@pytest.mark.parametrize("pacs", PACS)
async def test_concurrent_reads_of_different_instances_each_get_their_own(
    mover: RunningService,
    noget_orthanc: RunningPacs,
    noget_dcmqrscp: RunningPacs,
    pacs_catalog: Catalog,
    pacs: str,
) -> None:
    wanted = pacs_catalog.instances_for_series(pacs_catalog.large_series_uid)[:CONCURRENT]
    server = noget_orthanc if pacs == "orthanc" else noget_dcmqrscp

    async def read(instance: Instance) -> dict[str, Any]:
        async with mcp_client(mover.mcp_url, "modern") as client:
            return await call_ok(
                client, "get_instance_metadata", sop_instance_uid=instance.sop_uid, **await aim(client, pacs)
            )

    with AssociationSampler(server.open_associations) as sampler:
        headers = await asyncio.gather(*(read(instance) for instance in wanted))
    assert sampler.maximum > 1  # the C-MOVEs did overlap at the PACS
    assert [(h["sop_instance_uid"], h["attributes"]["InstanceNumber"]) for h in headers] == [
        (i.sop_uid, i.instance_number) for i in wanted
    ]


# --- what the receiver refuses ----------------------------------------------------------------------


async def test_an_instance_nobody_waits_for_is_refused_and_never_served(
    mover: RunningService,
    reference: RunningService,
    receivers: dict[str, Destination],
    pacs_catalog: Catalog,
) -> None:
    instance = ct_slice(pacs_catalog)
    assert pacs_catalog.directory is not None
    forged = pydicom.dcmread(pacs_catalog.directory / instance.filename)
    forged.PatientID = "FORGED"
    before = await refused(mover)
    # From a PACS's address, to the mover's AE title: with no Move Originator, with ours under
    # Message IDs no retrieval uses (none is in flight), and with another AE title's.
    originators = [None, (MOVER, 1), (MOVER, 2), (MOVER, 0xFFFF), ("SOMEONE", 1)]
    statuses = await asyncio.to_thread(
        foreign_stores, receivers[MOVER], [(forged, originator) for originator in originators]
    )
    assert statuses is not None and len(statuses) == len(originators)
    assert all(is_refusal(status) for status in statuses), [hex(s) for s in statuses]
    assert await refused(mover) - before == len(originators)
    # Nothing of it was kept: the next read of that instance brings the PACS's own.
    moved = await answer(mover, "orthanc", "get_instance_metadata", sop_instance_uid=instance.sop_uid)
    assert moved == await answer(
        reference, "orthanc", "get_instance_metadata", sop_instance_uid=instance.sop_uid
    )


async def test_an_association_from_an_address_no_pacs_has_is_refused(
    mover: RunningService, receivers: dict[str, Destination], pacs_catalog: Catalog
) -> None:
    assert pacs_catalog.directory is not None
    ds = pydicom.dcmread(pacs_catalog.directory / ct_slice(pacs_catalog).filename)
    before = await refused(mover)
    # 127.0.0.2 is this machine too, but no configured PACS lives there.
    statuses = await asyncio.to_thread(
        foreign_stores, receivers[MOVER], [(ds, (MOVER, 1))], source="127.0.0.2"
    )
    assert statuses is None
    assert await refused(mover) - before == 1


# --- limits and faults with real PACS ---------------------------------------------------------------


@pytest.mark.parametrize("pacs", PACS)
async def test_a_read_past_the_byte_cap_is_too_large_and_the_service_goes_on(
    noget_orthanc: RunningPacs,
    noget_dcmqrscp: RunningPacs,
    receivers: dict[str, Destination],
    reference: RunningService,
    pacs_catalog: Catalog,
    pacs: str,
    tmp_path: Path,
) -> None:
    cap = 2**16  # the smallest the setting allows: an SR fits, a 512x512 CT slice does not
    env = mover_env(
        tmp_path,
        noget_orthanc,
        noget_dcmqrscp,
        retrieve="move",
        receiver=receivers["MCPCAP"],
        ae_title="MCPCAP",
        max_retrieve_bytes=str(cap),
    )
    study = pacs_catalog.report_study.study_uid
    with run_service(tmp_path, env) as capped:
        async with mcp_client(capped.mcp_url, "modern") as client:
            target = await aim(client, pacs)
            message = await call_error(
                client, "get_instance_metadata", sop_instance_uid=ct_slice(pacs_catalog).sop_uid, **target
            )
            assert message.startswith("too large: "), message
            assert f"passed the cap of {cap} bytes per call (DICOM_MCP_MAX_RETRIEVE_BYTES)" in message
            assert (await call_ok(client, "verify_connection", **target))["success"] is True
        reports = await answer(capped, pacs, "read_report", study_instance_uid=study)
        assert reports == await answer(reference, pacs, "read_report", study_instance_uid=study)


@pytest.mark.parametrize("pacs", PACS)
async def test_a_pacs_that_cannot_reach_the_receiver_is_a_bounded_clear_error(
    noget_orthanc: RunningPacs, noget_dcmqrscp: RunningPacs, pacs_catalog: Catalog, pacs: str, tmp_path: Path
) -> None:
    # Both PACS know LOST at a port where nothing listens; the service listens elsewhere. Orthanc
    # answers the C-MOVE 0xC000, dcmqrscp 0xA702 (its sub-operation failed).
    deadline = 10.0
    env = mover_env(
        tmp_path,
        noget_orthanc,
        noget_dcmqrscp,
        retrieve="move",
        receiver=Destination(LOST, "127.0.0.1", free_port()),
        ae_title=LOST,
        query_deadline=str(deadline),
    )
    with run_service(tmp_path, env) as lost:
        started = time.monotonic()
        failed = await answer(
            lost, pacs, "get_instance_metadata", sop_instance_uid=ct_slice(pacs_catalog).sop_uid
        )
        seconds = time.monotonic() - started
    assert failed.is_error
    assert seconds < deadline + SLACK
    assert "C-MOVE" in failed.text and "internal error" not in failed.text, failed.text


# --- without a receiver -----------------------------------------------------------------------------


async def test_without_a_receiver_a_pacs_without_c_get_says_what_to_set(
    noget_orthanc: RunningPacs, noget_dcmqrscp: RunningPacs, pacs_catalog: Catalog, tmp_path: Path
) -> None:
    env = mover_env(
        tmp_path, noget_orthanc, noget_dcmqrscp, retrieve="auto", receiver=None, ae_title="MCPNOGET"
    )
    uid = ct_slice(pacs_catalog).sop_uid
    study = pacs_catalog.report_study.study_uid
    calls = [
        ("get_instance_metadata", {"sop_instance_uid": uid}),
        ("render_image", {"sop_instance_uid": uid}),
        ("read_report", {"study_instance_uid": study}),
    ]
    with run_service(tmp_path, env) as plain:
        for pacs in PACS:
            for tool, arguments in calls:
                failed = await answer(plain, pacs, tool, **arguments)
                assert failed.is_error, (pacs, tool)
                assert "C-GET" in failed.text, failed.text
                assert "set DICOM_MCP_RECEIVER_PORT" in failed.text, failed.text
                assert ("default" if pacs == "orthanc" else "dcmqrscp") in failed.text, failed.text


# --- stdio ------------------------------------------------------------------------------------------


async def test_stdio_reads_by_move_from_both_pacs(
    noget_orthanc: RunningPacs,
    noget_dcmqrscp: RunningPacs,
    receivers: dict[str, Destination],
    reference: RunningService,
    pacs_catalog: Catalog,
    tmp_path: Path,
) -> None:
    env = mover_env(
        tmp_path,
        noget_orthanc,
        noget_dcmqrscp,
        retrieve="move",
        receiver=receivers["MCPSTDIO"],
        ae_title="MCPSTDIO",
    )
    uid = ct_slice(pacs_catalog).sop_uid
    study = pacs_catalog.report_study.study_uid
    async with stdio_service(env, tmp_path / "stdio.log") as client:
        for pacs in PACS:
            if pacs == "dcmqrscp":  # on stdio the choice binds to the process's one client
                await call_ok(client, "configure_dicom_server", node="dcmqrscp")
            header = await client.call_tool("get_instance_metadata", {"sop_instance_uid": uid})
            reports = await client.call_tool("read_report", {"study_instance_uid": study})
            assert not header.is_error and not reports.is_error, (header.content, reports.content)
            by_get = await answer(reference, pacs, "get_instance_metadata", sop_instance_uid=uid)
            assert header.structured_content == by_get.structured
            by_get = await answer(reference, pacs, "read_report", study_instance_uid=study)
            assert reports.structured_content == by_get.structured
