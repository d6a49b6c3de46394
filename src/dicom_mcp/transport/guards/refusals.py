"""Refused MCP requests: every one counted, audited within a bound, and a flood turned away early.

Each refusal (401, 403, 413, 421, 429) increments the metric. Per client address and
minute, the first `RECORDS_PER_WINDOW` refusals are written to the audit trail one by one, then
every `SAMPLE_EVERY`-th, each record carrying the running count, so an unauthenticated flood
writes a few lines a minute instead of one per request. A client address denied (401, 403)
`limit` times within a minute gets 429 straight away, before its token is even checked.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dicom_mcp.metrics import Metrics
from dicom_mcp.security.audit import AuditSink
from dicom_mcp.transport.guards.asgi import client_of, is_mcp_path, principal_of, send_json

REFUSALS = frozenset({401, 403, 413, 421, 429})
# Only failed authentication counts towards turning a client away early: a caller that merely
# runs into its rate limit must not block others behind the same address.
DENIALS = frozenset({401, 403})
WINDOW_SECONDS = 60.0
RECORDS_PER_WINDOW = 20
SAMPLE_EVERY = 100
_MAX_CLIENTS = 100_000


@dataclass
class _Window:
    started: float
    count: int = 0  # refusals
    denials: int = 0  # of which 401 and 403


class AuditRefusals:
    """Outermost guard: see the module docstring. `limit` 0 turns the early 429 off."""

    def __init__(
        self,
        app: ASGIApp,
        audit: AuditSink,
        metrics: Metrics,
        limit: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._app = app
        self._audit = audit
        self._metrics = metrics
        self._limit = limit
        self._clock = clock
        self._windows: dict[str, _Window] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not is_mcp_path(scope):
            await self._app(scope, receive, send)
            return
        client = client_of(scope)
        window = self._window(client)
        if self._limit and window.denials >= self._limit:
            self._note(scope, 429, window)
            retry = max(1, round(window.started + WINDOW_SECONDS - self._clock()))
            await send_json(
                send,
                429,
                {"error": "rate_limited", "error_description": "too many refused requests; slow down"},
                {"Retry-After": str(retry)},
            )
            return

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in REFUSALS:
                self._note(scope, message["status"], self._window(client))
            await send(message)

        await self._app(scope, receive, watch)

    def _window(self, client: str) -> _Window:
        now = self._clock()
        window = self._windows.get(client)
        if window is None or now - window.started >= WINDOW_SECONDS:
            if len(self._windows) >= _MAX_CLIENTS:
                self._windows = {k: w for k, w in self._windows.items() if now - w.started < WINDOW_SECONDS}
            window = self._windows[client] = _Window(now)
        return window

    def _note(self, scope: Scope, status: int, window: _Window) -> None:
        window.count += 1
        window.denials += status in DENIALS
        self._metrics.refused.labels(str(status)).inc()
        if window.count <= RECORDS_PER_WINDOW or window.count % SAMPLE_EVERY == 0:
            self._audit.record(
                "refused",
                status=status,
                method=scope.get("method"),
                path=scope.get("path"),
                client=client_of(scope),
                principal=principal_of(scope),
                outcome="refused",
                refusals_this_minute=window.count,
                sampled=window.count > RECORDS_PER_WINDOW,
            )
