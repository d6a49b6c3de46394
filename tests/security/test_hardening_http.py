"""Findings of a hostile test of the HTTP service, each reproduced from outside and now refused.

The real service runs with API keys for two principals, an audit log, Orthanc as its default
PACS and dcmqrscp as an allowed ad-hoc target; requests are raw HTTP unless a client says more.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pynetdicom import AE, evt
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from testbeds.faults import answers, fault_pacs
from testbeds.pacs import RunningPacs
from testbeds.poll import until
from testbeds.service import RunningService, run_service, service_env
from tests.security.tokens import write_api_keys

ALICE, BOB = "alice-hardening-token-0123456789", "bob-hardening-token-9876543210"
SESSION_TTL = 4
PER_PRINCIPAL = 3
LEGACY_VERSION = "2025-06-18"
MODERN_VERSION = "2026-07-28"
ACCEPT = "application/json, text/event-stream"


@dataclass
class Hardened:
    service: RunningService
    audit_path: Path
    dcmqrscp: RunningPacs

    def audit(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.audit_path.read_text().splitlines()]

    def rss_kib(self) -> int:
        status = Path(f"/proc/{self.service.process.pid}/status").read_text()
        return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))


def start_env(orthanc: RunningPacs, workdir: Path, **settings: str) -> dict[str, str]:
    return service_env(
        {
            "DICOM_HOST": orthanc.host,
            "DICOM_PORT": str(orthanc.port),
            "DICOM_CALLED_AE_TITLE": orthanc.ae_title,
        },
        api_keys_file=str(write_api_keys(workdir / "keys", {"alice": ALICE, "bob": BOB})),
        audit_log=str(workdir / "audit.jsonl"),
        **settings,
    )


@pytest.fixture(scope="module")
def hardened(
    orthanc: RunningPacs, dcmqrscp: RunningPacs, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Hardened]:
    workdir = tmp_path_factory.mktemp("hardened")
    env = start_env(
        orthanc,
        workdir,
        allowed_targets=f"127.0.0.1:{dcmqrscp.port}",
        session_ttl=str(SESSION_TTL),
        http_max_sessions_per_principal=str(PER_PRINCIPAL),
    )
    with run_service(workdir, env) as service:
        yield Hardened(service, workdir / "audit.jsonl", dcmqrscp)


# --- raw MCP over HTTP --------------------------------------------------------------------


def rpc(method: str, params: dict[str, Any] | None = None, request_id: int | None = 1) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params or {}}
    if request_id is not None:
        message["id"] = request_id
    return message


def answer_of(response: httpx.Response) -> dict[str, Any]:
    """The JSON-RPC answer in a JSON or an event-stream response."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        for line in response.text.splitlines():
            if line.startswith("data:") and line[5:].strip():
                message = json.loads(line[5:])
                if "result" in message or "error" in message:
                    return dict(message)
        raise AssertionError(f"no answer in the event stream: {response.text[:500]}")
    return dict(response.json())


def tool_text(answer: dict[str, Any]) -> str:
    return " ".join(block.get("text", "") for block in answer["result"]["content"])


class Legacy:
    """An older client over raw HTTP: `initialize`, then requests carrying its Mcp-Session-Id."""

    def __init__(self, service: RunningService, token: str) -> None:
        self.url = service.mcp_url
        self.token = token
        self.session_id = ""

    def headers(self) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Accept": ACCEPT,
            "Content-Type": "application/json",
        }
        if self.session_id:
            headers |= {"Mcp-Session-Id": self.session_id, "MCP-Protocol-Version": LEGACY_VERSION}
        return headers

    def open(self) -> httpx.Response:
        params = {
            "protocolVersion": LEGACY_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"},
        }
        response = httpx.post(self.url, json=rpc("initialize", params), headers=self.headers(), timeout=10)
        if response.status_code == 200:
            self.session_id = response.headers["mcp-session-id"]
            initialized = rpc("notifications/initialized", request_id=None)
            assert (
                httpx.post(self.url, json=initialized, headers=self.headers(), timeout=10).status_code == 202
            )
        return response

    def call(self, tool: str, request_id: int = 2, **arguments: Any) -> httpx.Response:
        body = rpc("tools/call", {"name": tool, "arguments": arguments}, request_id)
        return httpx.post(self.url, json=body, headers=self.headers(), timeout=30)

    def close(self) -> None:
        if self.session_id:
            httpx.delete(self.url, headers=self.headers(), timeout=10)


def modern_call(
    service: RunningService,
    token: str,
    tool: str,
    extra_headers: dict[str, str] | None = None,
    **arguments: Any,
) -> httpx.Response:
    meta = {
        "io.modelcontextprotocol/protocolVersion": MODERN_VERSION,
        "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    body = rpc("tools/call", {"name": tool, "arguments": arguments, "_meta": meta})
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": ACCEPT,
        "Content-Type": "application/json",
        "MCP-Protocol-Version": MODERN_VERSION,
        "Mcp-Method": "tools/call",
        "Mcp-Name": tool,
        **(extra_headers or {}),
    }
    return httpx.post(service.mcp_url, json=body, headers=headers, timeout=30)


def echoed_ae(response: httpx.Response) -> str:
    answer = answer_of(response)
    assert not answer["result"].get("isError"), tool_text(answer)
    return str(answer["result"]["structuredContent"]["ae_title"])


# --- 2. bodies are refused before they are read --------------------------------------------


def raw_post(service: RunningService, headers: list[str], chunks: Iterator[bytes]) -> int:
    """Send a POST by hand, streaming `chunks` until the server answers; return its status."""
    host, port = service.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        head = ["POST /mcp HTTP/1.1", f"Host: {host}:{port}", f"Authorization: Bearer {ALICE}", *headers]
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        sock.setblocking(False)
        received = b""
        for chunk in chunks:
            with contextlib.suppress(BlockingIOError):
                received += sock.recv(65536)
            if received:
                break
            try:
                sock.sendall(chunk)
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                break
        sock.setblocking(True)
        while b"\r\n" not in received:
            received += sock.recv(65536)
    return int(received.split(b" ", 2)[1])


def test_declared_oversized_body_is_refused_before_it_is_read(hardened: Hardened) -> None:
    before = hardened.rss_kib()
    started = time.perf_counter()
    status = raw_post(
        hardened.service,
        ["Content-Type: application/json", f"Accept: {ACCEPT}", f"Content-Length: {300 * 2**20}"],
        iter([b"x" * 65536] * 4800),
    )
    assert status == 413
    assert time.perf_counter() - started < 5
    assert hardened.rss_kib() - before < 20 * 1024


def test_undeclared_oversized_body_is_cut_at_the_limit(hardened: Hardened) -> None:
    before = hardened.rss_kib()

    def chunked() -> Iterator[bytes]:
        for _ in range(3200):  # 200 MiB offered, 64 KiB at a time
            yield b"10000\r\n" + b"x" * 65536 + b"\r\n"

    status = raw_post(
        hardened.service,
        ["Content-Type: application/json", f"Accept: {ACCEPT}", "Transfer-Encoding: chunked"],
        chunked(),
    )
    assert status == 413
    assert hardened.rss_kib() - before < 20 * 1024


# --- 3 and 4. a legacy client's choice is its own, and losing it is an error ------------------


def test_a_modern_request_cannot_repoint_another_principals_legacy_session(hardened: Hardened) -> None:
    alice = Legacy(hardened.service, ALICE)
    assert alice.open().status_code == 200
    try:
        configured = alice.call(
            "configure_dicom_server",
            host="127.0.0.1",
            port=hardened.dcmqrscp.port,
            ae_title=hardened.dcmqrscp.ae_title,
        )
        assert not answer_of(configured)["result"].get("isError"), tool_text(answer_of(configured))
        intrusion = modern_call(
            hardened.service,
            BOB,
            "configure_dicom_server",
            {"Mcp-Session-Id": alice.session_id},
            node="default",
        )
        assert intrusion.status_code == 200
        assert echoed_ae(alice.call("verify_connection", request_id=3)) == hardened.dcmqrscp.ae_title
    finally:
        alice.close()


def test_a_legacy_clients_expired_choice_is_an_error_not_the_default(hardened: Hardened) -> None:
    alice = Legacy(hardened.service, ALICE)
    assert alice.open().status_code == 200
    try:
        alice.call(
            "configure_dicom_server",
            host="127.0.0.1",
            port=hardened.dcmqrscp.port,
            ae_title=hardened.dcmqrscp.ae_title,
        )
        found = answer_of(alice.call("query_patients", request_id=3, patient_id="PAT002"))
        assert found["result"]["structuredContent"]["called_ae_title"] == hardened.dcmqrscp.ae_title
        time.sleep(SESSION_TTL + 1.5)
        expired = answer_of(alice.call("verify_connection", request_id=4))
        assert expired["result"]["isError"]
        assert "configure_dicom_server again" in tool_text(expired)
    finally:
        alice.close()


# --- 5. one principal cannot take every legacy session slot ---------------------------------


def test_legacy_sessions_are_capped_per_principal(hardened: Hardened) -> None:
    opened = [Legacy(hardened.service, ALICE) for _ in range(PER_PRINCIPAL + 1)]
    bob = Legacy(hardened.service, BOB)
    try:
        statuses = [client.open().status_code for client in opened]
        assert statuses == [200] * PER_PRINCIPAL + [429]
        assert bob.open().status_code == 200
        opened[0].close()  # an ended session frees its slot
        opened[0].session_id = ""
        assert opened[-1].open().status_code == 200
    finally:
        for client in (*opened, bob):
            client.close()


# --- 6. readiness probes do not turn into load on the PACS -----------------------------------


@pytest.fixture
def echo_counter() -> Iterator[tuple[int, list[float]]]:
    """A C-ECHO SCP on a free loopback port that notes when each association opens."""
    ae = AE(ae_title="COUNTER")
    ae.add_supported_context(Verification)
    opened: list[float] = []
    server = ae.start_server(
        ("127.0.0.1", 0),
        block=False,
        evt_handlers=[(evt.EVT_CONN_OPEN, lambda _e: opened.append(time.monotonic()))],
    )
    try:
        yield server.server_address[1], opened
    finally:
        server.shutdown()


def test_readiness_polls_share_one_cached_echo(
    orthanc: RunningPacs, echo_counter: tuple[int, list[float]], tmp_path: Path
) -> None:
    port, opened = echo_counter
    env = service_env({"DICOM_PORT": str(port), "DICOM_CALLED_AE_TITLE": "COUNTER"})
    with run_service(tmp_path, env) as service, ThreadPoolExecutor(40) as pool:
        bodies = list(
            pool.map(lambda _: httpx.get(f"{service.base_url}/readyz", timeout=10).json(), range(200))
        )
    assert all(body["default_pacs"]["status"] == "ok" for body in bodies)
    assert 1 <= len(opened) <= 2  # one echo per 5 s cache period; the polls took well under that


# --- 7 and 8. malformed requests get 400, near-miss hosts and origins are refused ------------


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000, b'{"a":' * 3000 + b"1" + b"}" * 3000],
    ids=["100k-nested-arrays", "3000-nested-objects"],
)
def test_deeply_nested_json_is_a_400(hardened: Hardened, body: bytes) -> None:
    response = httpx.post(
        hardened.service.mcp_url,
        content=body,
        headers={"Authorization": f"Bearer {ALICE}", "Accept": ACCEPT, "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32700


@pytest.mark.parametrize(
    ("header", "value", "status"),
    [
        ("Host", "localhost:evil.com", 421),
        ("Host", "127.0.0.1.evil.com:80", 421),
        ("Host", "localhost:80:80", 421),
        ("Origin", "http://localhost:1@evil.com", 403),
        ("Origin", "http://localhost.evil.com", 403),
        ("Origin", "http://localhost:8000/path", 403),
        ("Origin", "null", 403),
    ],
)
def test_near_miss_host_and_origin_are_refused(
    hardened: Hardened, header: str, value: str, status: int
) -> None:
    response = Legacy(hardened.service, ALICE)
    headers = {**response.headers(), header: value}
    assert (
        httpx.post(hardened.service.mcp_url, json=rpc("ping"), headers=headers, timeout=10).status_code
        == status
    )


@pytest.mark.parametrize(
    ("header", "value"),
    [("Host", "localhost:8123"), ("Host", "127.0.0.1"), ("Origin", "http://localhost:3000")],
)
def test_exact_loopback_host_and_origin_pass(hardened: Hardened, header: str, value: str) -> None:
    headers = {**Legacy(hardened.service, ALICE).headers(), header: value}
    response = httpx.post(hardened.service.mcp_url, json=rpc("ping"), headers=headers, timeout=10)
    assert response.status_code != 421 and response.status_code != 403


# --- 10. caller-supplied text and session ids stay out of the ordinary log --------------------


def test_tool_errors_and_session_ids_are_not_logged(hardened: Hardened) -> None:
    alice = Legacy(hardened.service, ALICE)
    assert alice.open().status_code == 200
    try:
        answer = answer_of(alice.call("query_patients", attribute_preset="SECRET-PID-4711"))
        assert answer["result"]["isError"] and "SECRET-PID-4711" in tool_text(answer)
        answer = answer_of(
            alice.call(
                "configure_dicom_server",
                request_id=3,
                host="smith-anna-19851224.invalid",
                port=104,
                ae_title="X",
            )
        )
        assert answer["result"]["isError"]
    finally:
        alice.close()
    log = hardened.service.log()
    assert "Tool 'query_patients' failed" in log  # the failure is logged, by type
    assert "SECRET-PID-4711" not in log
    assert "smith-anna-19851224" not in log
    assert alice.session_id not in log


# --- 11. refusals are all audited, within a bound, and a flood is turned away early ------------


def test_an_unauthenticated_flood_writes_a_bounded_audit_trail(orthanc: RunningPacs, tmp_path: Path) -> None:
    env = start_env(orthanc, tmp_path, rate_limit_per_minute="100")
    with run_service(tmp_path, env) as service, httpx.Client(timeout=10) as http:
        headers = {"Authorization": "Bearer not-a-key", "Accept": ACCEPT, "Content-Type": "application/json"}
        statuses = [
            http.post(service.mcp_url, json=rpc("ping"), headers=headers).status_code for _ in range(600)
        ]
        metrics = http.get(f"{service.base_url}/metrics").text
    assert statuses[:100] == [401] * 100
    assert set(statuses[100:]) == {429}  # refused early: no token check once a client keeps failing
    records = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    refusals = [r for r in records if r["event"] == "refused"]
    assert 20 <= len(refusals) <= 30  # 20 one by one, then every 100th with its running count
    assert refusals[-1]["refusals_this_minute"] == 600
    counted = sum(
        float(line.split()[-1])
        for line in metrics.splitlines()
        if line.startswith("dicom_mcp_refused_requests_total")
    )
    assert counted == 600


# --- 13. a duplicate request id in flight on one session is refused ----------------------------


def test_a_duplicate_in_flight_request_id_is_refused_and_the_first_still_answers(
    orthanc: RunningPacs, tmp_path: Path
) -> None:
    with fault_pacs(answers(3, delay=1.0)) as slow:
        env = start_env(orthanc, tmp_path, allowed_targets=f"127.0.0.1:{slow.port}")
        with run_service(tmp_path, env) as service:
            alice = Legacy(service, ALICE)
            assert alice.open().status_code == 200
            alice.call("configure_dicom_server", host="127.0.0.1", port=slow.port, ae_title=slow.ae_title)
            first: list[httpx.Response] = []
            worker = threading.Thread(target=lambda: first.append(alice.call("query_studies", request_id=7)))
            worker.start()
            until(lambda: slow.requests == 1, within=10, what="the first query in flight at the PACS")
            duplicate = alice.call("query_studies", request_id=7)
            worker.join(30)
            alice.close()
    assert duplicate.status_code == 409
    assert "still in flight" in duplicate.json()["error"]["message"]
    assert answer_of(first[0])["result"]["structuredContent"]["count"] == 3
