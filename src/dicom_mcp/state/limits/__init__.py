"""Limits that hold for the whole deployment: requests per caller, sessions per caller, and
associations per PACS.

With the memory session store they are counted in this process (as a single instance needs);
with the Redis store they are counted in Redis, so that replicas sharing it enforce each limit
once, together.

    windows.py        events per caller in a sliding window (request rate, new sessions)
    open_sessions.py  `Mcp-Session-Id` sessions each caller holds open
    leases.py         association slots per PACS, leased in Redis
"""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio

from dicom_mcp.settings import Settings
from dicom_mcp.state.limits.leases import RedisLeases
from dicom_mcp.state.limits.open_sessions import MemoryOpenSessions, OpenSessions, RedisOpenSessions
from dicom_mcp.state.limits.windows import RedisWindow
from dicom_mcp.state.redis_link import async_client, breaker_for, is_redis
from dicom_mcp.state.window import MemoryWindow, Window

__all__ = ["Limits", "build_limits"]

MINUTE = 60.0


@dataclass
class Limits:
    """The shared limits; `leases` is None when associations are counted in this process only."""

    requests: Window | None  # None: unlimited
    new_sessions: Window
    open_sessions: OpenSessions
    leases: RedisLeases | None = None
    client: redis.asyncio.Redis | None = None

    async def aclose(self) -> None:
        """Stop renewing leases and close the connections to Redis."""
        if self.leases is not None:
            self.leases.close()
        if self.client is not None:
            await self.client.aclose()


def build_limits(settings: Settings) -> Limits:
    """Limits in Redis when the session store is Redis, else in this process."""
    url = settings.session_store
    per_minute = settings.rate_limit_per_minute
    if not is_redis(url):
        return Limits(
            requests=MemoryWindow(per_minute, MINUTE) if per_minute else None,
            new_sessions=MemoryWindow(settings.max_sessions_per_principal, settings.session_ttl),
            open_sessions=MemoryOpenSessions(settings.http_session_idle_timeout),
        )
    client = async_client(url)
    breaker = breaker_for(url)
    return Limits(
        requests=RedisWindow(client, breaker, "requests", per_minute, MINUTE) if per_minute else None,
        new_sessions=RedisWindow(
            client, breaker, "new-sessions", settings.max_sessions_per_principal, settings.session_ttl
        ),
        open_sessions=RedisOpenSessions(client, breaker, settings.http_session_idle_timeout),
        leases=RedisLeases(url, settings.association_lease_seconds),
        client=client,
    )
