"""The shared session store: entries in Redis, so any replica can serve any request.

Key layout (one string key per entry, nothing else is written):

    <prefix><kind>:<sha256 hex>  ->  SessionEntry.to_json()
    e.g. dicom-mcp:session:handle:9f86d0…   (a `session` handle)
         dicom-mcp:session:conn:2c26b4…     (an older client's connection)

The part after the prefix is the resolver's key, already a digest: a dump of Redis holds no
usable handle. Every key is written with `SET … PX ttl` and read with `GETEX … PX ttl`, so each
key always carries an expiry and each read slides it atomically; Redis drops idle entries by
itself (GETEX needs Redis 6.2 or newer). `count` SCANs the prefix, so several deployments may share one database under
different prefixes. Bounding the number of entries is left to Redis (`maxmemory` with a
`volatile-*` eviction policy): every key here is volatile.

Failures are never hidden: a Redis that refuses, resets or stops answering raises
`StoreUnavailable` within about `timeout` seconds (there is no fallback to memory, which would
split sessions between replicas). The client reconnects by itself on the next call once Redis
is back. Messages name the cause and never a key.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar, cast

from dicom_mcp.errors import StoreError
from dicom_mcp.state.redis_link import DEFAULT_TIMEOUT, async_client, breaker_for, call
from dicom_mcp.state.sessions.store import SessionEntry

DEFAULT_PREFIX = "dicom-mcp:session:"
SCAN_BATCH = 1000

T = TypeVar("T")


class RedisStore:
    """Sessions in Redis with a sliding TTL, shared by every replica that uses the same URL and prefix."""

    def __init__(
        self, url: str, ttl: float, *, prefix: str = DEFAULT_PREFIX, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        """Create the client; nothing connects until the first call.

        Args:
            url: `redis://[user:password@]host:port/db` or `rediss://…`; query parameters such
                as `?socket_timeout=5` override the defaults below.
            ttl: idle lifetime of an entry, in seconds.
            prefix: namespace of this deployment's keys.
            timeout: socket connect and read timeout, in seconds.
        """
        self._ttl_ms = max(1, round(ttl * 1000))
        self._prefix = prefix
        self._redis = async_client(url, timeout)
        self._breaker = breaker_for(url)

    async def put(self, key: str, entry: SessionEntry) -> None:
        await self._call(self._redis.set(self._prefix + key, entry.to_json(), px=self._ttl_ms))

    async def get(self, key: str) -> SessionEntry | None:
        raw = await self._call(self._redis.getex(self._prefix + key, px=self._ttl_ms))
        if raw is None:
            return None
        try:
            return SessionEntry.from_json(raw)
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError("a session entry in Redis is malformed") from exc

    async def delete(self, key: str) -> None:
        await self._call(self._redis.delete(self._prefix + key))

    async def count(self) -> int:
        # SCAN may return a key twice while Redis rehashes; a set counts it once. It skips expired keys.
        return len(await self._call(self._scan_keys()))

    async def ping(self) -> None:
        # redis-py types PING for both its sync and async clients; this client is the async one.
        await self._call(cast("Awaitable[bool]", self._redis.ping()))

    async def aclose(self) -> None:
        await self._redis.aclose()

    async def _scan_keys(self) -> set[bytes]:
        pattern = _glob_escape(self._prefix) + "*"
        return {key async for key in self._redis.scan_iter(match=pattern, count=SCAN_BATCH)}

    async def _call(self, operation: Awaitable[T]) -> T:
        return await call(operation, "session store", self._breaker)


def _glob_escape(text: str) -> str:
    """Escape the characters SCAN's MATCH pattern treats specially."""
    return "".join("\\" + char if char in "*?[]\\" else char for char in text)
