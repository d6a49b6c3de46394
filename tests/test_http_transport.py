"""The HTTP service, started for real: transports, health endpoints and Host/Origin protection."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from testbeds.clients import call_ok, mcp_client
from testbeds.service import REPO, RunningService, run_service, service_env

pytestmark = pytest.mark.anyio

SEVEN_TOOLS = {
    "configure_dicom_server",
    "verify_connection",
    "query_patients",
    "query_studies",
    "query_series",
    "query_instances",
    "get_attribute_presets",
}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    workdir = tmp_path_factory.mktemp("http")
    env = service_env({"DICOM_PORT": "1"}, allowed_hosts="dicom-mcp.hospital.example")
    with run_service(workdir, env) as running:
        yield running


def curl(*args: str) -> tuple[int, str]:
    """Run curl; return (HTTP status, body)."""
    out = subprocess.run(
        ["curl", "-s", "-o", "-", "-w", "\n%{http_code}", *args], capture_output=True, text=True, check=True
    ).stdout
    body, _, status = out.rpartition("\n")
    return int(status), body


MCP_POST = (
    "-X",
    "POST",
    "-H",
    "Content-Type: application/json",
    "-H",
    "Accept: application/json, text/event-stream",
)
INITIALIZE = json.dumps(
    {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "curl", "version": "1"},
        },
    }
)


def test_healthz_answers_curl(service: RunningService) -> None:
    assert curl(f"{service.base_url}/healthz") == (200, '{"status":"ok"}')


def test_readyz_reports_store_and_default_pacs_without_failing_on_it(service: RunningService) -> None:
    status, body = curl(f"{service.base_url}/readyz")
    report = json.loads(body)
    assert status == 200
    assert report["store"] == "ok"
    assert report["default_pacs"]["status"] == "unreachable"  # DICOM_PORT=1: nothing listens there


def test_foreign_origin_is_refused_with_403(service: RunningService) -> None:
    status, _ = curl(*MCP_POST, "-H", "Origin: https://evil.example", "-d", INITIALIZE, service.mcp_url)
    assert status == 403


def test_loopback_origin_is_accepted(service: RunningService) -> None:
    status, _ = curl(*MCP_POST, "-H", "Origin: http://localhost:3000", "-d", INITIALIZE, service.mcp_url)
    assert status == 200


def test_foreign_host_header_is_refused(service: RunningService) -> None:
    status, _ = curl(*MCP_POST, "-H", "Host: evil.example", "-d", INITIALIZE, service.mcp_url)
    assert status == 421


def test_configured_host_name_is_accepted_behind_a_proxy(service: RunningService) -> None:
    for host in ("dicom-mcp.hospital.example", "dicom-mcp.hospital.example:443"):
        status, _ = curl(*MCP_POST, "-H", f"Host: {host}", "-d", INITIALIZE, service.mcp_url)
        assert status == 200, host


def test_oversized_body_is_refused(service: RunningService, tmp_path: Path) -> None:
    body = tmp_path / "huge.json"
    body.write_text(
        json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"pad": "x" * 2_000_000}})
    )
    status, _ = curl(*MCP_POST, "-H", "Expect:", "--data-binary", f"@{body}", service.mcp_url)
    assert status == 413


@pytest.mark.parametrize("mode", ["modern", "legacy", "sse"])
async def test_every_transport_lists_the_seven_tools(service: RunningService, mode: str) -> None:
    async with mcp_client(service.mcp_url, mode) as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        assert tools >= SEVEN_TOOLS
        presets = await call_ok(client, "get_attribute_presets")
        assert presets["default"] == "standard"


@pytest.mark.parametrize("mode", ["modern", "legacy"])
def test_typescript_sdk_lists_tools_and_calls_one(service: RunningService, mode: str) -> None:
    calls = json.dumps([{"name": "get_attribute_presets", "arguments": {}}])
    out = subprocess.run(
        ["node", "client.mjs", service.mcp_url, mode, calls],
        cwd=REPO / "tests" / "interop",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    report = json.loads(out.stdout)
    assert set(report["tools"]) >= SEVEN_TOOLS
    assert report["results"][0]["isError"] is False
    assert report["results"][0]["structuredContent"]["default"] == "standard"
    if mode == "modern":
        assert (report["protocolVersion"], report["sessionId"]) == ("2026-07-28", None)
    else:
        assert report["sessionId"]


def test_sigterm_exits_cleanly(tmp_path: Path) -> None:
    with run_service(tmp_path, service_env()) as running:
        assert running.stop(signal.SIGTERM) == 0
        assert "Application shutdown complete" in running.log()
