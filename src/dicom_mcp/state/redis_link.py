"""Connections to Redis, and what its failures mean, for everything the service keeps there.

The session store (`redis.py`) and the shared limits (`limits/`) connect the same way and fail
the same way: a Redis that refuses, resets or stops answering raises `StoreUnavailable` within
about `timeout` seconds; a command Redis rejects raises `StoreError`. Messages name the cause
and never a key (keys may be derived from callers).

After Redis failed to answer, every user of the same URL fails at once for `PAUSE_SECONDS`
(a circuit breaker), so that one request touching Redis several times (its rate limit, its
session, its association slot) waits out one timeout, not one per touch.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, Final, TypeVar

import anyio
import redis
import redis.asyncio
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from dicom_mcp.errors import StoreError, StoreUnavailable

DEFAULT_TIMEOUT = 2.0
HEALTH_CHECK_INTERVAL = 30
PAUSE_SECONDS = 0.5

T = TypeVar("T")


def is_redis(url: str) -> bool:
    """Whether a store URL names Redis (`redis://…` or `rediss://…`)."""
    return url.startswith(("redis://", "rediss://"))


def _options(timeout: float) -> dict[str, Any]:
    """What both clients are made with; query parameters in the URL, such as `?socket_timeout=5`,
    override them."""
    return {
        "socket_connect_timeout": timeout,
        "socket_timeout": timeout,
        # PING a connection idle this long before reusing it.
        "health_check_interval": HEALTH_CHECK_INTERVAL,
        "client_name": "dicom-mcp",
    }


# Retry once, at once, when a connection breaks (e.g. a pooled one Redis closed while restarting);
# a timeout is not retried, so a hung Redis costs one `timeout`, not more.
_RETRIED: Final = (RedisConnectionError,)


def async_client(url: str, timeout: float = DEFAULT_TIMEOUT) -> redis.asyncio.Redis:
    """An asyncio client for `url`; nothing connects until the first call."""
    retry = AsyncRetry(NoBackoff(), 1, supported_errors=_RETRIED)
    return redis.asyncio.Redis.from_url(url, retry=retry, **_options(timeout))


def sync_client(url: str, timeout: float = DEFAULT_TIMEOUT) -> redis.Redis:
    """A blocking client, for worker threads, with the same settings as `async_client`."""
    return redis.Redis.from_url(
        url, retry=Retry(NoBackoff(), 1, supported_errors=_RETRIED), **_options(timeout)
    )


class Breaker:
    """Remembers that one Redis (a URL) just failed to answer, for `PAUSE_SECONDS`."""

    def __init__(self) -> None:
        self._closed_until = 0.0
        self._cause = ""

    def check(self) -> None:
        """Raise StoreUnavailable at once while a recent failure is remembered."""
        if time.monotonic() < self._closed_until:
            raise StoreUnavailable(f"Redis is unreachable ({self._cause}; retrying shortly)")

    def trip(self, cause: str) -> None:
        self._cause = cause
        self._closed_until = time.monotonic() + PAUSE_SECONDS


_breakers: dict[str, Breaker] = {}


def breaker_for(url: str) -> Breaker:
    """The breaker shared by every client of `url` in this process."""
    return _breakers.setdefault(url, Breaker())


@contextmanager
def translated(what: str, breaker: Breaker) -> Iterator[None]:
    """Turn Redis failures inside the block into the store's errors; `what` names the command's purpose."""
    breaker.check()
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
        # These come from the connection layer (host, port, errno), never from a command's keys.
        cause = f"{type(exc).__name__}: {exc}"
        breaker.trip(cause)
        raise StoreUnavailable(f"Redis is unreachable ({cause})") from exc
    except RedisError as exc:
        # Command errors may quote their arguments, and so a key: name the type only.
        raise StoreError(f"Redis refused a {what} command ({type(exc).__name__})") from exc


async def call(operation: Awaitable[T], what: str, breaker: Breaker) -> T:
    """Await one Redis operation, its failures translated.

    The operation is shielded from cancellation: a cancelled tool call must not interrupt
    redis-py halfway through a connection handshake (AUTH, SELECT), which would leave a pooled
    connection on the wrong database. The socket timeouts bound the wait.
    """
    try:
        with translated(what, breaker):
            with anyio.CancelScope(shield=True):
                result = await operation
    except StoreUnavailable:
        if inspect.iscoroutine(operation):
            operation.close()  # not awaited when the breaker answered first
        raise
    return result


def call_sync(operation: Callable[[], T], what: str, breaker: Breaker) -> T:
    """Run one blocking Redis operation, its failures translated."""
    with translated(what, breaker):
        result = operation()
    return result
