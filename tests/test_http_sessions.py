"""Many clients over real HTTP, each with its own DICOM target; handles, connection binding, expiry."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import anyio
import httpx
import pytest

from testbeds.clients import call_error, call_ok, mcp_client
from testbeds.pacs import Catalog, RunningPacs
from testbeds.service import RunningService, run_service, service_env

pytestmark = pytest.mark.anyio


def start(
    orthanc: RunningPacs, dcmqrscp: RunningPacs, workdir: Path
) -> AbstractContextManager[RunningService]:
    env = service_env(
        {
            "DICOM_HOST": orthanc.host,
            "DICOM_PORT": str(orthanc.port),
            "DICOM_CALLED_AE_TITLE": orthanc.ae_title,
        },
        allowed_targets=f"127.0.0.1:{dcmqrscp.port}",
        session_ttl="2",
    )
    return run_service(workdir, env)


@pytest.fixture(scope="module")
def service(
    orthanc: RunningPacs, dcmqrscp: RunningPacs, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningService]:
    with start(orthanc, dcmqrscp, tmp_path_factory.mktemp("sessions")) as running:
        yield running


@pytest.fixture
def fresh_service(orthanc: RunningPacs, dcmqrscp: RunningPacs, tmp_path: Path) -> Iterator[RunningService]:
    """A service of the test's own: its metrics count only what the test did."""
    with start(orthanc, dcmqrscp, tmp_path) as running:
        yield running


async def echo_ae(client: object, **arguments: object) -> str:
    result = await call_ok(client, "verify_connection", **arguments)  # type: ignore[arg-type]
    assert result["success"] is True
    return str(result["ae_title"])


async def test_modern_client_keeps_its_target_through_the_handle(
    service: RunningService, orthanc: RunningPacs, dcmqrscp: RunningPacs
) -> None:
    async with mcp_client(service.mcp_url, "modern") as client:
        assert await echo_ae(client) == orthanc.ae_title
        configured = await call_ok(
            client, "configure_dicom_server", host="127.0.0.1", port=dcmqrscp.port, ae_title=dcmqrscp.ae_title
        )
        assert await echo_ae(client, session=configured["session"]) == dcmqrscp.ae_title
        # A modern request carries no transport session: without the handle it is the default PACS.
        assert await echo_ae(client) == orthanc.ae_title


@pytest.mark.parametrize("mode", ["legacy", "sse"])
async def test_older_clients_need_no_handle_and_do_not_see_each_other(
    service: RunningService, orthanc: RunningPacs, dcmqrscp: RunningPacs, mode: str
) -> None:
    async with (
        mcp_client(service.mcp_url, mode) as configured,
        mcp_client(service.mcp_url, mode) as bystander,
    ):
        await call_ok(
            configured,
            "configure_dicom_server",
            host="127.0.0.1",
            port=dcmqrscp.port,
            ae_title=dcmqrscp.ae_title,
        )
        assert await echo_ae(configured) == dcmqrscp.ae_title
        assert await echo_ae(bystander) == orthanc.ae_title


async def test_two_sessions_on_two_pacs_get_their_own_answers(
    service: RunningService, dcmqrscp: RunningPacs, pacs_catalog: Catalog
) -> None:
    large = pacs_catalog.large_series.series_uid
    async with (
        mcp_client(service.mcp_url, "modern") as first,
        mcp_client(service.mcp_url, "legacy") as second,
    ):
        handle = (
            await call_ok(
                first, "configure_dicom_server", host="127.0.0.1", port=dcmqrscp.port, ae_title="DCMQRSCP"
            )
        )["session"]
        on_dcmqrscp = await call_ok(
            first, "query_instances", series_instance_uid=large, session=handle, limit=7
        )
        on_orthanc = await call_ok(second, "query_patients", name_pattern="SMITH*")
        assert await echo_ae(second) != dcmqrscp.ae_title
    assert (on_dcmqrscp["count"], on_dcmqrscp["truncated"]) == (7, True)
    assert {m["PatientID"] for m in on_orthanc["matches"]} == {"PAT001", "PAT002"}


async def test_expired_handle_is_a_clear_error(service: RunningService, dcmqrscp: RunningPacs) -> None:
    async with mcp_client(service.mcp_url, "modern") as client:
        handle = (
            await call_ok(
                client, "configure_dicom_server", host="127.0.0.1", port=dcmqrscp.port, ae_title="DCMQRSCP"
            )
        )["session"]
        await anyio.sleep(2.5)  # DICOM_MCP_SESSION_TTL=2: let the handle lapse (a TTL, not a readiness wait)
        message = await call_error(client, "query_patients", name_pattern="SMITH*", session=handle)
    assert "unknown or expired session handle" in message
    assert "configure_dicom_server" in message


async def test_metrics_count_calls_latency_sessions_and_refusals(
    fresh_service: RunningService, dcmqrscp: RunningPacs
) -> None:
    service = fresh_service
    async with mcp_client(service.mcp_url, "modern") as client:
        await call_ok(
            client, "configure_dicom_server", host="127.0.0.1", port=dcmqrscp.port, ae_title="DCMQRSCP"
        )
        await call_ok(client, "query_patients", name_pattern="SMITH*")
        await call_error(client, "query_studies", study_date="20230230")
    async with httpx.AsyncClient() as http:
        await http.post(service.mcp_url, json={}, headers={"Origin": "https://evil.example"})
        text = (await http.get(f"{service.base_url}/metrics")).text
    samples = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line[:1] != "#"
    }
    # Exactly what this test did: two tool calls, one C-FIND (the bad date never reached the PACS),
    # one handle, one foreign Origin.
    assert samples['dicom_mcp_tool_calls_total{outcome="success",tool="query_patients"}'] == 1
    assert samples['dicom_mcp_tool_calls_total{outcome="success",tool="configure_dicom_server"}'] == 1
    assert samples['dicom_mcp_tool_calls_total{outcome="error",tool="query_studies"}'] == 1
    assert samples['dicom_mcp_dicom_operation_seconds_count{node="default",operation="c-find"}'] == 1
    assert samples["dicom_mcp_live_sessions"] == 1
    assert samples["dicom_mcp_open_associations"] == 0
    assert samples['dicom_mcp_refused_requests_total{status="403"}'] == 1
    assert samples["dicom_mcp_store_errors_total"] == 0
