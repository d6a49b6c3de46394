"""The `Mcp-Session-Id` sessions each caller holds open, for the per-caller cap.

A session counts as open from the response that names it until it is closed (deleted, or
answered 404) or idle for `idle_seconds` (the SDK's own idle rule). `MemoryOpenSessions` counts
in this process; `RedisOpenSessions` counts across replicas, so a caller whose sessions are
pinned to different replicas is capped as one. In Redis each caller is one sorted set,
session id -> last seen (ms, Redis's clock), keyed by a hash of the caller:

    <prefix>open-sessions:<sha256 of the caller, 32 hex digits>
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Protocol

import redis.asyncio

from dicom_mcp.state.limits.windows import DEFAULT_PREFIX
from dicom_mcp.state.redis_link import Breaker, call

# KEYS: the caller's set. ARGV: idle ms. Forgets idle sessions; returns how many are open.
_COUNT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]))
return redis.call('ZCARD', KEYS[1])
"""

# KEYS: the caller's set. ARGV: idle ms, session id, 'open'|'touch'. Records a session as open
# now, or (touch) marks it seen now if it is open.
_SEEN = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local changed = 0
if ARGV[3] == 'touch' then
  changed = redis.call('ZADD', KEYS[1], 'XX', 'CH', now, ARGV[2])
else
  changed = redis.call('ZADD', KEYS[1], now, ARGV[2])
end
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1])) end
return changed
"""


class OpenSessions(Protocol):
    """Open transport sessions per caller. Every method may raise StoreError (state/sessions/store.py)."""

    async def count(self, caller: str) -> int:
        """How many sessions `caller` holds open now."""

    async def opened(self, caller: str, sid: str) -> None:
        """`caller` opened session `sid`."""

    async def touch(self, caller: str, sid: str) -> None:
        """Session `sid` saw a request (nothing if it is not known as open)."""

    async def closed(self, caller: str, sid: str) -> None:
        """Session `sid` ended."""


class MemoryOpenSessions:
    """`OpenSessions` counted in this process."""

    def __init__(self, idle_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._idle = idle_seconds
        self._clock = clock
        self._open: dict[str, dict[str, float]] = {}  # caller -> session id -> last seen

    async def count(self, caller: str) -> int:
        sessions = self._open.get(caller, {})
        cutoff = self._clock() - self._idle
        for sid in [sid for sid, seen in sessions.items() if seen <= cutoff]:
            del sessions[sid]
        if not sessions:
            self._open.pop(caller, None)
        return len(sessions)

    async def opened(self, caller: str, sid: str) -> None:
        self._open.setdefault(caller, {})[sid] = self._clock()

    async def touch(self, caller: str, sid: str) -> None:
        sessions = self._open.get(caller)
        if sessions is not None and sid in sessions:
            sessions[sid] = self._clock()

    async def closed(self, caller: str, sid: str) -> None:
        self._open.get(caller, {}).pop(sid, None)


class RedisOpenSessions:
    """`OpenSessions` counted in Redis, across every replica that shares it."""

    def __init__(
        self,
        client: redis.asyncio.Redis,
        breaker: Breaker,
        idle_seconds: float,
        *,
        prefix: str = DEFAULT_PREFIX,
    ) -> None:
        self._client = client
        self._breaker = breaker
        self._idle_ms = max(1, round(idle_seconds * 1000))
        self._prefix = f"{prefix}open-sessions:"
        self._count = client.register_script(_COUNT)
        self._seen = client.register_script(_SEEN)

    def _key(self, caller: str) -> str:
        return self._prefix + hashlib.sha256(caller.encode()).hexdigest()[:32]

    async def count(self, caller: str) -> int:
        return int(
            await call(
                self._count(keys=[self._key(caller)], args=[self._idle_ms]), "session cap", self._breaker
            )
        )

    async def opened(self, caller: str, sid: str) -> None:
        await call(
            self._seen(keys=[self._key(caller)], args=[self._idle_ms, sid, "open"]),
            "session cap",
            self._breaker,
        )

    async def touch(self, caller: str, sid: str) -> None:
        await call(
            self._seen(keys=[self._key(caller)], args=[self._idle_ms, sid, "touch"]),
            "session cap",
            self._breaker,
        )

    async def closed(self, caller: str, sid: str) -> None:
        await call(self._client.zrem(self._key(caller), sid), "session cap", self._breaker)
