"""The HTTP guards on their own: loopback-only mode and the rate limiter's window."""

from __future__ import annotations

from typing import Any

import pytest

from dicom_mcp.settings import Settings
from dicom_mcp.state.window import MemoryWindow
from dicom_mcp.transport.guards.guards import Callers

pytestmark = pytest.mark.anyio


class Recorder:
    """An ASGI app that answers 200, and a `send` that records statuses."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.reached = 0

    async def app(self, scope: Any, receive: Any, send: Any) -> None:
        self.reached += 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def send(self, message: Any) -> None:
        if message["type"] == "http.response.start":
            self.statuses.append(message["status"])


async def receive() -> Any:
    return {"type": "http.request", "body": b"", "more_body": False}


def scope(client: str, path: str = "/mcp", method: str = "POST") -> dict[str, Any]:
    return {"type": "http", "path": path, "method": method, "client": (client, 40000), "headers": []}


@pytest.mark.parametrize(
    ("client", "allow", "status"),
    [("127.0.0.1", False, 200), ("::1", False, 200), ("10.20.0.5", False, 403), ("10.20.0.5", True, 200)],
)
async def test_without_auth_only_loopback_clients_are_served(client: str, allow: bool, status: int) -> None:
    recorder = Recorder()
    guard = Callers(recorder.app, Settings(_env_file=None, allow_unauthenticated=allow), None)
    await guard(scope(client), receive, recorder.send)
    assert recorder.statuses == [status]


async def test_health_paths_are_never_guarded() -> None:
    recorder = Recorder()
    guard = Callers(recorder.app, Settings(_env_file=None), None)
    await guard(scope("10.20.0.5", "/healthz", "GET"), receive, recorder.send)
    assert recorder.statuses == [200]


async def test_rate_limit_window_slides() -> None:
    now = [1000.0]
    recorder = Recorder()
    limiter = Callers(
        recorder.app,
        Settings(_env_file=None, allow_unauthenticated=True),
        MemoryWindow(2, 60.0, clock=lambda: now[0]),
    )
    for _ in range(3):
        await limiter(scope("10.0.0.1"), receive, recorder.send)
    now[0] += 61  # the first two calls leave the window
    await limiter(scope("10.0.0.1"), receive, recorder.send)
    await limiter(scope("10.0.0.2"), receive, recorder.send)  # another caller has its own budget
    assert recorder.statuses == [200, 200, 429, 200, 200]
    assert recorder.reached == 4
