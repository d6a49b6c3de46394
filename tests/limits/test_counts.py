"""One contract, both places: the sliding windows and the open-session counts behave the same in
memory and in a real Redis.

Time: the memory ones run on an injected clock, Redis in real time with short windows, so each
place's own expiry does the work (as in tests/sessions/test_store_contract.py).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import anyio
import pytest

from dicom_mcp.errors import StoreUnavailable
from dicom_mcp.state.limits.open_sessions import MemoryOpenSessions, OpenSessions, RedisOpenSessions
from dicom_mcp.state.limits.windows import RedisWindow
from dicom_mcp.state.redis_link import async_client, breaker_for
from dicom_mcp.state.window import MemoryWindow, Window
from testbeds.redis import RedisServer

pytestmark = pytest.mark.anyio

SECONDS = 1.0

T = TypeVar("T")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Bed(Generic[T]):
    """What is under test, and a way to let time pass for it."""

    made: T
    elapse: Callable[[float], Awaitable[None]]


def advancing(clock: Clock) -> Callable[[float], Awaitable[None]]:
    async def advance(seconds: float) -> None:
        clock.now += seconds

    return advance


@pytest.fixture(params=["memory", pytest.param("redis", marks=[pytest.mark.redis, pytest.mark.external])])
async def make_window(request: pytest.FixtureRequest) -> AsyncIterator[Bed[Callable[[int], Window]]]:
    if request.param == "memory":
        clock = Clock()
        yield Bed(lambda limit: MemoryWindow(limit, SECONDS, clock), advancing(clock))
        return
    server: RedisServer = request.getfixturevalue("redis_db")
    client = async_client(server.url)
    yield Bed(lambda limit: RedisWindow(client, breaker_for(server.url), "test", limit, SECONDS), anyio.sleep)
    await client.aclose()


@pytest.fixture(params=["memory", pytest.param("redis", marks=[pytest.mark.redis, pytest.mark.external])])
async def open_sessions(request: pytest.FixtureRequest) -> AsyncIterator[Bed[OpenSessions]]:
    if request.param == "memory":
        clock = Clock()
        yield Bed(MemoryOpenSessions(SECONDS, clock), advancing(clock))
        return
    server: RedisServer = request.getfixturevalue("redis_db")
    client = async_client(server.url)
    yield Bed(RedisOpenSessions(client, breaker_for(server.url), SECONDS), anyio.sleep)
    await client.aclose()


async def test_a_window_admits_its_limit_then_says_how_long_to_wait(
    make_window: Bed[Callable[[int], Window]],
) -> None:
    window = make_window.made(3)
    assert [await window.admit("alice") for _ in range(3)] == [0, 0, 0]
    wait = await window.admit("alice")
    assert 0 < wait <= SECONDS
    assert await window.admit("bob") == 0  # each caller has a window of its own


async def test_a_window_slides(make_window: Bed[Callable[[int], Window]]) -> None:
    window = make_window.made(2)
    await window.admit("alice")
    await make_window.elapse(SECONDS * 0.7)
    await window.admit("alice")
    # Time passes no sooner than asked, only later: the first event has surely left the window,
    # and the second stays in it unless Redis's real-time wait overruns by more than 0.6 s.
    await make_window.elapse(SECONDS * 0.4)
    assert await window.admit("alice") == 0
    assert await window.admit("alice") > 0


async def test_a_refused_event_is_not_counted(make_window: Bed[Callable[[int], Window]]) -> None:
    window = make_window.made(1)
    await window.admit("alice")
    for _ in range(5):
        assert await window.admit("alice") > 0
    await make_window.elapse(SECONDS + 0.1)
    assert await window.admit("alice") == 0


async def test_open_sessions_count_until_closed_or_idle(open_sessions: Bed[OpenSessions]) -> None:
    sessions = open_sessions.made
    await sessions.opened("alice", "s1")
    await sessions.opened("alice", "s2")
    await sessions.opened("bob", "s3")
    assert (await sessions.count("alice"), await sessions.count("bob")) == (2, 1)
    await sessions.closed("alice", "s1")
    assert await sessions.count("alice") == 1
    await open_sessions.elapse(SECONDS * 0.75)
    await sessions.touch("alice", "s2")  # seen: its idle time starts again
    await open_sessions.elapse(SECONDS * 0.35)  # bob's is idle past the timeout; alice's s2 is not
    assert (await sessions.count("alice"), await sessions.count("bob")) == (1, 0)


async def test_touching_an_unknown_session_does_not_open_it(open_sessions: Bed[OpenSessions]) -> None:
    await open_sessions.made.touch("alice", "never-opened")
    assert await open_sessions.made.count("alice") == 0


async def test_a_stopped_redis_is_a_store_error_within_the_timeout(private_redis: RedisServer) -> None:
    client = async_client(private_redis.url)
    window = RedisWindow(client, breaker_for(private_redis.url), "test", 5, SECONDS)
    assert await window.admit("alice") == 0
    private_redis.stop()
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        await window.admit("alice")
    with pytest.raises(StoreUnavailable, match="retrying shortly"):  # the breaker answers at once
        await window.admit("alice")
    assert time.monotonic() - started < 3
    await client.aclose()


async def test_redis_keys_hash_the_caller_and_expire(redis_db: RedisServer) -> None:
    client = async_client(redis_db.url)
    await RedisWindow(client, breaker_for(redis_db.url), "test", 5, SECONDS).admit("alice@hospital")
    await RedisOpenSessions(client, breaker_for(redis_db.url), SECONDS).opened("alice@hospital", "sid")
    await client.aclose()
    plain = redis_db.client()
    keys = [key.decode() for key in plain.keys("*")]
    assert len(keys) == 2
    assert all("alice" not in key for key in keys)
    assert all(0 < plain.pttl(key) <= SECONDS * 1000 for key in keys)
