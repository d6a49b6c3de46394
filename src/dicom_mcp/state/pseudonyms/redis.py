"""The shared reverse map: tokens in Redis, so any replica can resolve a token another minted.

Key layout (one string key per token, nothing else is written):

    <prefix><principal digest>:<kind>:<token>  ->  Original.to_json()
    e.g. dicom-mcp:pseudonym:5e884898da28047151d0e56f8dc62927:patient_id:P-ABCDEFGHIJKL

The principal digest is the first 32 hex digits of its SHA-256; the token is already a keyed
pseudonym. Key names therefore hold no original value and no principal name (the values do
hold originals: that is what the map is for). Every key is written with `SET … PX ttl`, all of
one emission in a single pipeline, and read with `GETEX … PX ttl`, so each key always carries
an expiry and each use slides it; Redis drops idle entries by itself. Bounding the number of
entries is left to Redis (`maxmemory` with a `volatile-*` policy), as for the session store.

Failures are never hidden: a Redis that refuses, resets or stops answering raises
`StoreUnavailable` within about `timeout` seconds, a rejected command or a malformed entry
`StoreError`. Messages never name a key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Mapping
from typing import TypeVar, cast

from dicom_mcp.errors import StoreError
from dicom_mcp.state.pseudonyms.store import MAX_TOKEN_LENGTH, Original
from dicom_mcp.state.redis_link import DEFAULT_TIMEOUT, async_client, breaker_for, call

DEFAULT_PREFIX = "dicom-mcp:pseudonym:"
PRINCIPAL_DIGEST_CHARS = 32
_WHAT = "pseudonym map"

T = TypeVar("T")


class RedisTokenMap:
    """Tokens in Redis with a sliding TTL, shared by every replica that uses the same URL and prefix."""

    def __init__(
        self, url: str, ttl: float, *, prefix: str = DEFAULT_PREFIX, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        """Create the client; nothing connects until the first call.

        Args:
            url: `redis://[user:password@]host:port/db` or `rediss://…`.
            ttl: idle lifetime of an entry, in seconds.
            prefix: namespace of this deployment's keys.
            timeout: socket connect and read timeout, in seconds.
        """
        self._ttl_ms = max(1, round(ttl * 1000))
        self._prefix = prefix
        self._redis = async_client(url, timeout)
        self._breaker = breaker_for(url)

    def key(self, principal: str, kind: str, token: str) -> str:
        """The Redis key of one entry."""
        digest = hashlib.sha256(principal.encode()).hexdigest()[:PRINCIPAL_DIGEST_CHARS]
        return f"{self._prefix}{digest}:{kind}:{token}"

    async def remember(self, principal: str, entries: Mapping[tuple[str, str], Original]) -> None:
        if not entries:
            return
        # One round trip for a whole result; no MULTI: each SET stands alone.
        pipe = self._redis.pipeline(transaction=False)
        for (kind, token), original in entries.items():
            pipe.set(self.key(principal, kind, token), original.to_json(), px=self._ttl_ms)
        await self._call(pipe.execute())

    async def recall(self, principal: str, kind: str, token: str) -> Original | None:
        if len(token) > MAX_TOKEN_LENGTH:
            return None
        raw = await self._call(self._redis.getex(self.key(principal, kind, token), px=self._ttl_ms))
        if raw is None:
            return None
        try:
            return Original.from_json(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise StoreError("a pseudonym entry in Redis is malformed") from exc

    async def ping(self) -> None:
        # redis-py types PING for both its sync and async clients; this client is the async one.
        await self._call(cast("Awaitable[bool]", self._redis.ping()))

    async def aclose(self) -> None:
        await self._redis.aclose()

    async def _call(self, operation: Awaitable[T]) -> T:
        return await call(operation, _WHAT, self._breaker)
