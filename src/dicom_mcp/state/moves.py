"""The hand-off of C-MOVE results between replicas, through Redis, in memory only.

A PACS knows one host and port per AE title, so the instances a C-MOVE sends to this service may
reach any replica behind that address, not the one whose retrieval waits for them. With the
Redis store, the waiting replica claims its C-MOVE's Message ID here (unique across replicas);
a replica that receives an instance for a Message ID it does not wait for itself forwards it,
in chunks, and the waiting replica pulls it. Every key expires with the retrieval's deadline.

    <prefix><id>                 the claim: {"expected": [SOP UIDs] | null, "cap": bytes, "source": AE}
    <prefix><id>:bytes           bytes forwarded so far (bounded by the claim's cap)
    <prefix><id>:seq             a counter naming each forwarded instance
    <prefix><id>:data:<n>        one instance's bytes, in chunks of CHUNK bytes
    <prefix><id>:arrived         headers {"sop", "syntax", "n"} of forwarded instances, in order

Keys carry a Message ID (a number), never a UID; values are patient data, kept no longer than
the retrieval (and its TTL). Failures raise the store's errors (`redis_link`).
"""

from __future__ import annotations

import json
from typing import Any, Final, Literal

from dicom_mcp.errors import RetrieveTooLarge
from dicom_mcp.state.redis_link import DEFAULT_TIMEOUT, breaker_for, call_sync, sync_client

DEFAULT_PREFIX: Final = "dicom-mcp:move:"
CHUNK: Final = 1 << 20
_WHAT: Final = "C-MOVE hand-off"

Forwarded = Literal["kept", "not awaited", "not asked for", "too large"]


class MoveRelay:
    """Claims, forwards and pulls C-MOVE results in Redis (blocking: call it from threads)."""

    def __init__(
        self, url: str, ttl: float, *, prefix: str = DEFAULT_PREFIX, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        """
        Args:
            ttl: how long every key lives (the longest a retrieval may take), in seconds.
        """
        self._redis = sync_client(url, timeout)
        self._breaker = breaker_for(url)
        self._ttl_ms = max(1, round(ttl * 1000))
        self._prefix = prefix

    def claim(self, message_id: int, expected: list[str] | None, cap: int, source: str) -> bool:
        """Take `message_id` for a retrieval of this replica; False when another replica holds it."""
        value = json.dumps({"expected": expected, "cap": cap, "source": source})
        key = f"{self._prefix}{message_id}"
        return bool(self._call(lambda: self._redis.set(key, value, nx=True, px=self._ttl_ms)))

    def release(self, message_id: int) -> None:
        """Forget a finished retrieval (its forwarded data, if any was not pulled, expires by TTL)."""
        base = f"{self._prefix}{message_id}"
        self._call(
            lambda: self._redis.delete(
                base, f"{base}:bytes", f"{base}:seq", f"{base}:arrived", f"{base}:seen"
            )
        )

    def sources(self, message_id: int) -> set[str]:
        """The AE title of the PACS the retrieval of `message_id` moves from (empty when none waits)."""
        raw = self._call(lambda: self._redis.get(f"{self._prefix}{message_id}"))
        return {str(json.loads(raw).get("source") or "")} if raw is not None else set()

    def forward(self, message_id: int, sop_uid: str, syntax: str, data: bytes) -> Forwarded:
        """Hand an instance this replica received to the replica waiting for it, if one is."""
        base = f"{self._prefix}{message_id}"
        raw = self._call(lambda: self._redis.get(base))
        if raw is None:
            return "not awaited"
        claim: dict[str, Any] = json.loads(raw)
        expected = claim.get("expected")
        if expected is not None and sop_uid not in expected:
            return "not asked for"

        def count() -> tuple[int, int]:
            pipe = self._redis.pipeline(transaction=True)
            pipe.sadd(f"{base}:seen", sop_uid)
            pipe.pexpire(f"{base}:seen", self._ttl_ms)
            pipe.incrby(f"{base}:bytes", len(data))
            pipe.pexpire(f"{base}:bytes", self._ttl_ms)
            added, _, total, _ = pipe.execute()
            return int(added), int(total)

        added, total = self._call(count)
        if not added:
            return "not asked for"
        if total > int(claim.get("cap") or 0):
            refused = json.dumps({"refused": int(claim.get("cap") or 0)})
            self._call(
                lambda: (
                    self._redis.rpush(f"{base}:arrived", refused),
                    self._redis.pexpire(f"{base}:arrived", self._ttl_ms),
                )
            )
            return "too large"
        number = int(self._call(lambda: self._redis.incr(f"{base}:seq")))
        data_key = f"{base}:data:{number}"
        header = json.dumps({"sop": sop_uid, "syntax": syntax, "n": number})

        def push() -> None:
            pipe = self._redis.pipeline(transaction=False)
            for at in range(0, max(len(data), 1), CHUNK):
                pipe.rpush(data_key, data[at : at + CHUNK])
            pipe.pexpire(data_key, self._ttl_ms)
            pipe.rpush(f"{base}:arrived", header)  # last: the data is whole before it is announced
            for key in (f"{base}:arrived", f"{base}:bytes", f"{base}:seq"):
                pipe.pexpire(key, self._ttl_ms)
            pipe.execute()

        self._call(push)
        return "kept"

    def pull(self, message_id: int, timeout: float) -> tuple[str, str, bytes] | None:
        """The next instance forwarded to `message_id` (SOP Instance UID, syntax, bytes), waiting up to
        `timeout` seconds; None when none came."""
        base = f"{self._prefix}{message_id}"
        popped = self._call(lambda: self._redis.blpop([f"{base}:arrived"], timeout=max(timeout, 0.01)))
        if popped is None:
            return None
        header = json.loads(popped[1])
        if "wake" in header:
            return None
        if "refused" in header:
            raise RetrieveTooLarge(
                f"the instances forwarded by another replica passed the cap of {header['refused']} bytes per call (DICOM_MCP_MAX_RETRIEVE_BYTES)"
            )
        data_key = f"{base}:data:{int(header['n'])}"

        def take() -> list[bytes]:
            pipe = self._redis.pipeline(transaction=True)
            pipe.lrange(data_key, 0, -1)
            pipe.delete(data_key)
            chunks: list[bytes] = pipe.execute()[0]
            return chunks

        return str(header["sop"]), str(header["syntax"]), b"".join(self._call(take))

    def wake(self, message_id: int) -> None:
        """Make a `pull` waiting on `message_id` return at once (its retrieval is over)."""
        key = f"{self._prefix}{message_id}:arrived"
        self._call(
            lambda: (
                self._redis.rpush(key, json.dumps({"wake": True})),
                self._redis.pexpire(key, self._ttl_ms),
            )
        )

    def close(self) -> None:
        self._redis.close()

    def _call(self, operation: Any) -> Any:
        return call_sync(operation, _WHAT, self._breaker)
