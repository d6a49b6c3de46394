"""A PACS that fails during a C-GET gives a clear, bounded error, and the service goes on answering.

The fault SCP (testbeds/faults.py) answers the instance look-up, then hangs, aborts after some
instances, or fails the C-GET. The service reaches it as an allowed ad-hoc target.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from testbeds.clients import call_error, call_ok, mcp_client
from testbeds.faults import (
    FAULT_SERIES_UID,
    FaultPacs,
    GetHandler,
    fault_pacs,
    get_aborts_after,
    get_fails,
    get_hangs,
    get_sends,
    instance_found,
)
from testbeds.service import RunningService, run_service, service_env

pytestmark = pytest.mark.anyio

DEADLINE = 3.0  # DICOM_MCP_QUERY_DEADLINE of the service below
DIMSE_TIMEOUT = 30.0  # longer than the deadline: the deadline must be what ends a hung C-GET
SLACK = 2.0  # the C-FIND look-up, the abort, HTTP and scheduling on a loaded machine


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    workdir = tmp_path_factory.mktemp("reading-faults")
    env = service_env(
        {"DICOM_PORT": "1"},
        allowed_targets="127.0.0.1",
        query_deadline=str(DEADLINE),
        dimse_timeout=str(DIMSE_TIMEOUT),
        audit_log=str(workdir / "audit.jsonl"),
    )
    with run_service(workdir, env) as running:
        yield running


async def header_call(service: RunningService, pacs: FaultPacs) -> tuple[str, float]:
    """Point a client at `pacs`, ask for one instance's header; the error text and the call's seconds."""
    async with mcp_client(service.mcp_url, "modern") as client:
        session = (
            await call_ok(
                client, "configure_dicom_server", host=pacs.host, port=pacs.port, ae_title=pacs.ae_title
            )
        )["session"]
        started = time.monotonic()
        message = await call_error(
            client, "get_instance_metadata", sop_instance_uid=f"{FAULT_SERIES_UID}.1", session=session
        )
        return message, time.monotonic() - started


async def still_answers(service: RunningService) -> None:
    """A healthy PACS is served normally after the fault."""
    with fault_pacs(instance_found, get_handler=get_sends(1)) as healthy:
        async with mcp_client(service.mcp_url, "legacy") as client:
            session = (
                await call_ok(
                    client,
                    "configure_dicom_server",
                    host=healthy.host,
                    port=healthy.port,
                    ae_title=healthy.ae_title,
                )
            )["session"]
            header = await call_ok(
                client, "get_instance_metadata", sop_instance_uid=f"{FAULT_SERIES_UID}.1", session=session
            )
    assert header["sop_class"] == "CT Image Storage"


async def test_a_pacs_that_never_sends_the_instance_times_out_at_the_deadline(
    service: RunningService,
) -> None:
    with fault_pacs(instance_found, get_handler=get_hangs) as hung:
        message, seconds = await header_call(service, hung)
    assert (
        message
        == f"PACS error (PacsTimeout): FAULTY@{hung.host}:{hung.port} did not finish within the query deadline"
    )
    assert hung.get_requests == 1
    assert seconds < DEADLINE + SLACK
    await still_answers(service)


@pytest.mark.parametrize(
    ("sent", "kind", "hint"),
    [
        # Before any instance, an abort is how some PACS refuse C-GET: the error says what to set.
        (
            0,
            "GetNotOffered",
            "; a PACS that does not offer C-GET may answer so: set DICOM_MCP_RECEIVER_PORT so that this "
            "service can read it by C-MOVE (docs/users/reading.md: PACS without C-GET)",
        ),
        (2, "AnswerCutShort", ""),
    ],
)
async def test_an_abort_mid_retrieve_is_a_clear_error(
    service: RunningService, sent: int, kind: str, hint: str
) -> None:
    with fault_pacs(instance_found, get_handler=get_aborts_after(sent)) as aborting:
        message, seconds = await header_call(service, aborting)
    assert message == (
        f"PACS error ({kind}): FAULTY@{aborting.host}:{aborting.port} aborted the association mid-operation{hint}"
    )
    assert seconds < SLACK
    await still_answers(service)


@pytest.mark.parametrize(
    ("handler", "expected"),
    [
        (
            get_fails(0xA701),
            "PACS error (QueryFailed): C-GET failed with status 0xA701 "
            "(out of resources: unable to calculate the number of matches)",
        ),
        (get_fails(0xC000), "PACS error (QueryFailed): C-GET failed with status 0xC000 (unable to process)"),
        (get_sends(0), "not found: the PACS sent no instance with that SOP Instance UID"),
    ],
)
async def test_a_failed_or_empty_retrieve_says_so(
    service: RunningService, handler: GetHandler, expected: str
) -> None:
    with fault_pacs(instance_found, get_handler=handler) as failing:
        message, _ = await header_call(service, failing)
    assert message == expected
