"""Legacy HTTP+SSE: a request id still in flight on a session is refused, and both answers survive.

Raw HTTP, as an older client speaks it: GET /sse for the event stream, POST /messages/ for requests.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import httpx
import pytest

from dicom_mcp.transport.guards.sse_requests import _answered_ids
from testbeds.faults import answers, fault_pacs
from testbeds.poll import until
from testbeds.service import RunningService, run_service, service_env

VERSION = "2025-06-18"


class SseSession:
    """One /sse stream read in a thread: its endpoint, and its JSON-RPC messages as they come."""

    def __init__(self, service: RunningService) -> None:
        self.base = service.base_url
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self.endpoint: queue.Queue[str] = queue.Queue()
        self.http = httpx.Client(timeout=30)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        self.path = self.endpoint.get(timeout=10)

    def _read(self) -> None:
        with (
            suppress(httpx.HTTPError),
            self.http.stream("GET", f"{self.base}/sse") as stream,
        ):  # until close()
            event = ""
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data = line[5:].strip()
                    if event == "endpoint":
                        self.endpoint.put(data)
                    else:
                        self.messages.put(json.loads(data))

    def post(self, body: dict[str, Any]) -> httpx.Response:
        return httpx.post(f"{self.base}{self.path}", json=body, timeout=10)

    def answer(self, request_id: int, within: float = 30) -> dict[str, Any]:
        while True:
            message = self.messages.get(timeout=within)
            if message.get("id") == request_id and "method" not in message:
                return message

    def close(self) -> None:
        self.http.close()


def call(tool: str, request_id: int, **arguments: Any) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": tool, "arguments": arguments},
    }


@pytest.fixture
def slow_service(tmp_path: Path) -> Iterator[tuple[RunningService, Any]]:
    with fault_pacs(answers(3, delay=1.0)) as slow:
        env = service_env(
            {"DICOM_HOST": "127.0.0.1", "DICOM_PORT": str(slow.port), "DICOM_CALLED_AE_TITLE": slow.ae_title}
        )
        with run_service(tmp_path, env) as service:
            yield service, slow


def test_a_duplicate_in_flight_id_on_an_sse_session_is_refused_and_both_answers_arrive(
    slow_service: tuple[RunningService, Any],
) -> None:
    service, slow = slow_service
    session = SseSession(service)
    try:
        init = {"protocolVersion": VERSION, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
        assert (
            session.post({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init}).status_code
            == 202
        )
        assert session.answer(1)["result"]["protocolVersion"] == VERSION
        assert session.post({"jsonrpc": "2.0", "method": "notifications/initialized"}).status_code == 202

        assert session.post(call("query_studies", 7)).status_code == 202
        until(lambda: slow.requests == 1, within=10, what="the first query in flight at the PACS")
        duplicate = session.post(call("query_studies", 7))
        other = session.post(call("verify_connection", 8))  # another id on the same session is fine

        assert duplicate.status_code == 409
        assert "still in flight" in duplicate.json()["error"]["message"]
        assert other.status_code == 202
        assert session.answer(8)["result"]["structuredContent"]["success"] is True
        assert session.answer(7)["result"]["structuredContent"]["count"] == 3
        # Answered: the id may be used again.
        assert session.post(call("verify_connection", 7)).status_code == 202
        assert session.answer(7)["result"]["structuredContent"]["success"] is True
    finally:
        session.close()


@pytest.mark.parametrize(
    ("event", "ids"),
    [
        ('event: message\ndata: {"jsonrpc":"2.0","id":7,"result":{"content":[]}}', ["7"]),
        ('event: message\ndata: {"jsonrpc": "2.0", "id": "a\\"b", "error": {"code": 1}}', ["'a\"b'"]),
        ('event: message\ndata: {"id":9,"jsonrpc":"2.0","result":{}}', ["9"]),  # another key order
        ('event: message\ndata: {"jsonrpc":"2.0","method":"notifications/progress"}', []),
        ('event: message\ndata: {"jsonrpc":"2.0","id":3,"method":"sampling/createMessage"}', []),
        (": ping - 2026-12-01 17:00:00", []),
    ],
)
def test_the_answers_ids_are_read_from_the_events(event: str, ids: list[str]) -> None:
    assert _answered_ids(event) == ids
