"""How many events a caller had within the last `seconds`, counted in Redis: the request rate and
the new-session cap across replicas (`dicom_mcp.state.window.MemoryWindow` counts in one process).

A caller spread over replicas is limited as one: each key is a sorted set of its events'
times in Redis's own clock, trimmed and checked by one Lua script (a sliding log: exactly "at
most `limit` in any `seconds`", the same rule as in memory). Keys hash the caller:

    <prefix><name>:<sha256 of the caller, 32 hex digits>   event id -> time (ms)
"""

from __future__ import annotations

import hashlib
import secrets

import redis.asyncio

from dicom_mcp.state.redis_link import Breaker, call

DEFAULT_PREFIX = "dicom-mcp:limits:"

# KEYS: the caller's log. ARGV: limit, window ms, event id. Returns 0 (admitted) or the ms to wait.
_ADMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit, window = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(oldest[2]) + window - now)
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return 0
"""


class RedisWindow:
    """A `Window` counted in Redis, shared by every replica that uses the same client and prefix."""

    def __init__(
        self,
        client: redis.asyncio.Redis,
        breaker: Breaker,
        name: str,
        limit: int,
        seconds: float,
        *,
        prefix: str = DEFAULT_PREFIX,
    ) -> None:
        self.limit = limit
        self.seconds = seconds
        self._client = client
        self._breaker = breaker
        self._prefix = f"{prefix}{name}:"
        self._window_ms = max(1, round(seconds * 1000))
        self._script = client.register_script(_ADMIT)

    async def admit(self, key: str) -> float:
        log = self._prefix + hashlib.sha256(key.encode()).hexdigest()[:32]
        args: list[str | int] = [self.limit, self._window_ms, secrets.token_hex(8)]
        wait_ms = await call(self._script(keys=[log], args=args), "rate limit", self._breaker)
        return int(wait_ms) / 1000
