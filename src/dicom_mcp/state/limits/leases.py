"""Association slots in Redis: every replica's associations to one PACS count against one limit.

Each association holds a *lease*, a member of one sorted set per PACS whose score is the
lease's expiry in Redis's own clock (so replicas' clocks do not matter). A heartbeat thread
renews this process's leases every third of the lease time; a replica that dies stops renewing,
and its leases lapse within `lease_seconds`. A caller that finds no free slot joins a queue
(a sorted set by arrival) and takes a slot only when it is among the first waiters that fit,
so waiting calls are served roughly in order; waiters that stop polling (a dead replica) drop
out of the queue after `WAITER_SECONDS`. Each check is one Lua script, atomic in Redis.

Waiting polls Redis every `POLL_SECONDS` or so (jittered), and at once when this process frees
a slot. Keys, one set per PACS (the PACS's address is hashed):

    <prefix>{<sha256 of host:port>}:leases   token -> expiry (ms)
    <prefix>{…}:queue                        token -> arrival ticket
    <prefix>{…}:waiting                      token -> expiry of its place in the queue (ms)
    <prefix>{…}:tickets                      the arrival counter

Every key carries an expiry, refreshed while it is in use: an idle deployment leaves nothing.
"""

from __future__ import annotations

import hashlib
import logging
import random
import secrets
import threading
import time
from contextlib import suppress
from functools import partial

from dicom_mcp.errors import StoreError
from dicom_mcp.state.redis_link import breaker_for, call_sync, sync_client

logger = logging.getLogger(__name__)

DEFAULT_PREFIX = "dicom-mcp:associations:"
POLL_SECONDS = 0.2
WAITER_SECONDS = 2.0

# KEYS: leases, queue, waiting, tickets. ARGV: token, limit, lease ms, waiter ms.
# Returns 1 when the slot is taken, else 0 (the token keeps its place in the queue).
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local token, limit = ARGV[1], tonumber(ARGV[2])
local lease_ms, waiter_ms = tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local gone = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
for _, member in ipairs(gone) do redis.call('ZREM', KEYS[2], member) end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
local free = limit - redis.call('ZCARD', KEYS[1])
local rank = redis.call('ZRANK', KEYS[2], token)
if not rank then
  rank = redis.call('ZCARD', KEYS[2])
  if rank >= free then redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[4]), token) end
end
if rank < free then
  redis.call('ZREM', KEYS[2], token)
  redis.call('ZREM', KEYS[3], token)
  redis.call('ZADD', KEYS[1], now + lease_ms, token)
  redis.call('PEXPIRE', KEYS[1], lease_ms)
  return 1
end
redis.call('ZADD', KEYS[3], now + waiter_ms, token)
for i = 2, 4 do redis.call('PEXPIRE', KEYS[i], waiter_ms * 2) end
return 0
"""

# KEYS: leases. ARGV: lease ms, tokens... Extends (or restores) the leases of held tokens.
_RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease_ms = tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], now + lease_ms, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], lease_ms)
return #ARGV - 1
"""

# KEYS: queue, waiting. ARGV: token. Leaves the queue (a caller that gave up).
_LEAVE = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 0
"""


class RedisLeases:
    """Association slots shared through Redis (the `dicom.slots.Slots` contract)."""

    def __init__(self, url: str, lease_seconds: float, *, prefix: str = DEFAULT_PREFIX) -> None:
        self._redis = sync_client(url)
        self._breaker = breaker_for(url)
        self._lease_ms = max(1000, round(lease_seconds * 1000))
        self._prefix = prefix
        self._take_script = self._redis.register_script(_TAKE)
        self._renew_script = self._redis.register_script(_RENEW)
        self._leave_script = self._redis.register_script(_LEAVE)
        self._cond = threading.Condition()
        self._held: dict[str, str] = {}  # token -> its leases key
        self._renewing = threading.Lock()  # a lease freed during a renewal must not come back
        self._waiting = 0
        self._waits = 0  # takes that found no free slot at first
        self._closed = False
        self._heartbeat: threading.Thread | None = None

    @property
    def held(self) -> int:
        """Leases this process holds now."""
        return len(self._held)

    @property
    def waits(self) -> int:
        """Calls that found every slot taken and waited, since start."""
        return self._waits

    @property
    def waiting(self) -> int:
        """Calls of this process waiting for a slot now."""
        return self._waiting

    def take(self, key: str, limit: int, give_up: float) -> str | None:
        keys = self._keys(key)
        token = secrets.token_hex(12)
        args: list[str | int] = [token, limit, self._lease_ms, round(WAITER_SECONDS * 1000)]
        waited = False
        try:
            while True:
                if call_sync(
                    lambda: self._take_script(keys=keys, args=args), "association slot", self._breaker
                ):
                    with self._cond:
                        self._held[token] = keys[0]
                        self._start_heartbeat()
                    return token
                remaining = give_up - time.monotonic()
                if remaining <= 0:
                    self._leave(keys, token)
                    return None
                with self._cond:
                    if not waited:
                        waited = True
                        self._waits += 1
                        self._waiting += 1
                    pause = POLL_SECONDS * random.uniform(0.75, 1.25)  # noqa: S311 (jitter, not a secret)
                    self._cond.wait(min(pause, remaining))
        except BaseException:
            self._leave(keys, token)
            raise
        finally:
            if waited:
                with self._cond:
                    self._waiting -= 1

    def give(self, token: str) -> None:
        with self._renewing:
            with self._cond:
                key = self._held.pop(token, None)
            if key is not None:
                try:
                    call_sync(lambda: self._redis.zrem(key, token), "association slot", self._breaker)
                except StoreError as exc:
                    logger.warning(
                        "could not free an association slot in Redis (%s); it lapses by itself", exc
                    )
        with self._cond:
            self._cond.notify_all()  # a waiter here may take the slot at once

    def close(self) -> None:
        """Stop renewing; leases still held lapse within the lease time."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._heartbeat is not None:
            self._heartbeat.join(timeout=5)  # a renewal under way ends within the socket timeout
        self._redis.close()

    def _keys(self, key: str) -> list[str]:
        base = f"{self._prefix}{{{hashlib.sha256(key.encode()).hexdigest()[:32]}}}:"
        return [base + part for part in ("leases", "queue", "waiting", "tickets")]

    def _leave(self, keys: list[str], token: str) -> None:
        with suppress(StoreError):  # else its place in the queue lapses after WAITER_SECONDS
            call_sync(
                lambda: self._leave_script(keys=keys[1:3], args=[token]), "association slot", self._breaker
            )

    def _start_heartbeat(self) -> None:
        if self._heartbeat is None:
            self._heartbeat = threading.Thread(target=self._renew_forever, name="dicom-leases", daemon=True)
            self._heartbeat.start()

    def _renew_forever(self) -> None:
        interval = self._lease_ms / 3000
        failing = False
        while True:
            with self._cond:
                if self._closed:
                    return
                self._cond.wait(interval)
                if self._closed:
                    return
            try:
                self._renew_all()
            except StoreError as exc:
                if not failing:
                    logger.warning("could not renew association leases in Redis (%s)", exc)
                failing = True
            else:
                if failing:
                    logger.info("association leases renewed in Redis again")
                failing = False

    def _renew_all(self) -> None:
        """Extend every lease held, restoring any that lapsed while Redis was away."""
        with self._renewing:
            with self._cond:
                by_key: dict[str, list[str | int]] = {}
                for token, key in self._held.items():
                    by_key.setdefault(key, [self._lease_ms]).append(token)
            for key, args in by_key.items():
                call_sync(
                    partial(self._renew_script, keys=[key], args=args), "association slot", self._breaker
                )
