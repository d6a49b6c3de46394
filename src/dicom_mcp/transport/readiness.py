"""Readiness: the session store answers; the default PACS's C-ECHO is reported, from a short cache.

`/readyz` is unauthenticated and polled by load balancers, so it must not turn pollers into
load on the PACS: the echo result is kept for `ECHO_CACHE_SECONDS`, and only one echo is
ever in flight (pollers that arrive meanwhile wait for it and share its answer).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio

from dicom_mcp.errors import PacsError, StoreError
from dicom_mcp.services import Services

ECHO_TIMEOUT = 3.0
ECHO_CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class _Echo:
    report: dict[str, Any]
    at: float


class Readiness:
    """Answers readiness probes; at most one C-ECHO to the default PACS per cache period."""

    def __init__(
        self,
        services: Services,
        cache_seconds: float = ECHO_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._services = services
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._lock = anyio.Lock()
        self._last: _Echo | None = None

    async def check(self) -> tuple[int, dict[str, Any]]:
        """The HTTP status and body of one probe."""
        services = self._services
        body: dict[str, Any] = {}
        try:
            await services.store.ping()
            body["store"] = "ok"
        except StoreError as exc:
            services.metrics.store_errors.inc()
            body["store"] = f"unavailable ({type(exc).__name__})"
        body["default_pacs"] = await self.default_pacs()
        if services.activity.draining:
            body["draining"] = True
        status = 200 if body["store"] == "ok" and not services.activity.draining else 503
        body["status"] = "ready" if status == 200 else "not ready"
        return status, body

    async def default_pacs(self) -> dict[str, Any]:
        """The default PACS's echo report, at most `cache_seconds` old."""
        async with self._lock:  # one echo at a time; waiters then find it cached
            last = self._last
            if last is None or self._clock() - last.at >= self._cache_seconds:
                last = self._last = _Echo(await self._echo(), self._clock())
        return {**last.report, "checked_seconds_ago": round(self._clock() - last.at, 1)}

    async def _echo(self) -> dict[str, Any]:
        target = self._services.resolver.default_target
        try:
            millis = await self._services.client.echo(target, deadline=ECHO_TIMEOUT)
        except PacsError as exc:
            return {"status": "unreachable", "error": type(exc).__name__}
        except StoreError as exc:  # replicas share association slots through the store
            return {"status": "not checked", "error": type(exc).__name__}
        return {"status": "ok", "round_trip_ms": round(millis, 1)}
