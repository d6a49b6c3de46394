"""One contract, every store: memory and Redis behave the same through the SessionStore protocol.

Time: the memory store runs on an injected clock, Redis on real time with a one-second TTL, so
each store's own expiry does the work. Redis-only behaviour (key TTLs, prefixes, outages,
recovery) follows the shared suite.
"""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass

import anyio
import pytest

from dicom_mcp.errors import SessionNotFound, StoreError, StoreUnavailable
from dicom_mcp.model.target import Target
from dicom_mcp.state.sessions.memory import MemoryStore
from dicom_mcp.state.sessions.redis import DEFAULT_PREFIX, RedisStore
from dicom_mcp.state.sessions.resolver import SessionResolver
from dicom_mcp.state.sessions.store import SessionEntry, SessionStore
from testbeds.net import free_port
from testbeds.redis import RedisServer

pytestmark = pytest.mark.anyio

TTL = 1.0
# Fractions of the TTL with wide margins either side, so real-time Redis runs are not flaky.
MOST_OF_TTL = 0.55 * TTL
PAST_TTL = 1.2 * TTL
UNAVAILABLE_WITHIN = 3.0

DEFAULT = Target("127.0.0.1", 11112, "ANY-SCP", "default")
OTHER = Target("10.0.0.5", 104, "PACS2")
NAMED = Target("pacs.example", 11112, "ÄRCHIV", "archive")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class KeyedMemoryStore(MemoryStore):
    """The memory store, noting the keys it is given: the view of its keys that Redis gives for free."""

    def __init__(self, ttl: float, max_entries: int, clock: Clock) -> None:
        super().__init__(ttl=ttl, max_entries=max_entries, clock=clock)
        self.given: set[str] = set()

    async def put(self, key: str, entry: SessionEntry) -> None:
        self.given.add(key)
        await super().put(key, entry)

    async def delete(self, key: str) -> None:
        self.given.discard(key)
        await super().delete(key)


@dataclass
class Bed:
    """A store under test, a way to let time pass for it, and a view of the keys it holds."""

    store: SessionStore
    elapse: Callable[[float], Awaitable[None]]
    keys: Callable[[], list[str]]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def bed(request: pytest.FixtureRequest) -> AsyncIterator[Bed]:
    if request.param == "memory":
        clock = Clock()
        memory = KeyedMemoryStore(ttl=TTL, max_entries=100, clock=clock)

        async def advance(seconds: float) -> None:
            clock.now += seconds

        yield Bed(memory, advance, lambda: sorted(memory.given))
        await memory.aclose()
        return
    server: RedisServer = request.getfixturevalue("redis_db")
    store = RedisStore(server.url, ttl=TTL)
    yield Bed(store, anyio.sleep, lambda: stored_keys(server))
    await store.aclose()


def stored_keys(server: RedisServer, prefix: str = DEFAULT_PREFIX) -> list[str]:
    """The store's keys in Redis, without the prefix (what the resolver chose)."""
    with server.client() as client:
        return [key.decode().removeprefix(prefix) for key in client.scan_iter(match=f"{prefix}*")]


# --- the shared contract --------------------------------------------------------------------------


async def test_entries_round_trip(bed: Bed) -> None:
    await bed.store.put("a", SessionEntry(OTHER, "alice"))
    await bed.store.put("b", SessionEntry(NAMED, "bob@example.org"))
    assert await bed.store.get("a") == SessionEntry(OTHER, "alice")
    assert await bed.store.get("b") == SessionEntry(NAMED, "bob@example.org")
    assert await bed.store.count() == 2


async def test_unknown_key_is_none(bed: Bed) -> None:
    assert await bed.store.get("never-stored") is None
    assert await bed.store.count() == 0


async def test_put_replaces_the_entry_and_its_ttl(bed: Bed) -> None:
    await bed.store.put("k", SessionEntry(OTHER, "alice"))
    await bed.elapse(MOST_OF_TTL)
    await bed.store.put("k", SessionEntry(NAMED, "alice"))
    await bed.elapse(MOST_OF_TTL)  # past the first put's TTL, within the second's
    assert await bed.store.get("k") == SessionEntry(NAMED, "alice")
    assert await bed.store.count() == 1


async def test_delete_forgets_the_entry_and_tolerates_absent_keys(bed: Bed) -> None:
    await bed.store.put("k", SessionEntry(OTHER, "alice"))
    await bed.store.put("kept", SessionEntry(OTHER, "alice"))
    await bed.store.delete("k")
    await bed.store.delete("k")
    await bed.store.delete("never-stored")
    assert await bed.store.get("k") is None
    assert await bed.store.get("kept") is not None
    assert await bed.store.count() == 1


async def test_reads_slide_the_ttl(bed: Bed) -> None:
    await bed.store.put("k", SessionEntry(OTHER, "alice"))
    await bed.elapse(MOST_OF_TTL)
    assert await bed.store.get("k") is not None
    await bed.elapse(MOST_OF_TTL)  # more than one TTL since the put, less than one since the read
    assert await bed.store.get("k") is not None
    await bed.elapse(PAST_TTL)
    assert await bed.store.get("k") is None


async def test_idle_entries_expire_and_count_only_live_ones(bed: Bed) -> None:
    await bed.store.put("old", SessionEntry(OTHER, "alice"))
    await bed.elapse(MOST_OF_TTL)
    await bed.store.put("new", SessionEntry(OTHER, "alice"))
    await bed.elapse(MOST_OF_TTL)
    assert await bed.store.count() == 1
    assert await bed.store.get("old") is None
    assert await bed.store.get("new") is not None


async def test_ping_answers_when_the_store_is_up(bed: Bed) -> None:
    await bed.store.put("k", SessionEntry(OTHER, "alice"))
    keys = bed.keys()
    assert await bed.store.ping() is None  # it answered: the contract's "return if the store answers"
    assert bed.keys() == keys  # a ping reads and writes nothing
    assert await bed.store.get("k") == SessionEntry(OTHER, "alice")
    assert await bed.store.count() == 1


async def test_handle_resolves_to_its_target_and_the_connection_to_the_same(bed: Bed) -> None:
    resolver = SessionResolver(bed.store, DEFAULT)
    handle = await resolver.configure(OTHER, "alice", "http:abc")
    assert len(handle) >= 32
    assert await resolver.resolve(handle, "alice", None) == OTHER
    assert await resolver.resolve(None, "alice", "http:abc") == OTHER
    assert await resolver.resolve(None, "alice", "http:xyz") == DEFAULT


async def test_another_principals_handle_is_answered_like_an_unknown_one(bed: Bed) -> None:
    resolver = SessionResolver(bed.store, DEFAULT)
    handle = await resolver.configure(OTHER, "alice", "http:abc")
    with pytest.raises(SessionNotFound) as foreign:
        await resolver.resolve(handle, "mallory", None)
    with pytest.raises(SessionNotFound) as unknown:
        await resolver.resolve("x" * len(handle), "mallory", None)
    assert str(foreign.value) == str(unknown.value)
    assert await resolver.resolve(None, "mallory", "http:abc") == DEFAULT


async def test_expired_handle_is_a_clear_error_not_the_default(bed: Bed) -> None:
    resolver = SessionResolver(bed.store, DEFAULT)
    handle = await resolver.configure(OTHER, "alice", None)
    await bed.elapse(PAST_TTL)
    with pytest.raises(SessionNotFound, match=r"unknown or expired.*configure_dicom_server"):
        await resolver.resolve(handle, "alice", None)


async def test_store_never_holds_raw_handles_or_connection_ids(bed: Bed) -> None:
    resolver = SessionResolver(bed.store, DEFAULT)
    handle = await resolver.configure(OTHER, "alice", "http:connection-secret")
    keys = bed.keys()
    assert len(keys) == 2
    assert all(handle not in key and "connection-secret" not in key for key in keys)
    assert {key.split(":")[0] for key in keys} == {"handle", "conn"}


# --- Redis only -----------------------------------------------------------------------------------


@pytest.fixture
async def redis_store(redis_db: RedisServer) -> AsyncIterator[RedisStore]:
    store = RedisStore(redis_db.url, ttl=TTL)
    yield store
    await store.aclose()


async def test_every_redis_key_has_a_ttl_and_holds_the_entry_json(
    redis_db: RedisServer, redis_store: RedisStore
) -> None:
    resolver = SessionResolver(redis_store, DEFAULT, nodes={"archive": NAMED})
    await resolver.configure(NAMED, "alice", "http:abc")
    await resolver.resolve(None, "alice", "http:abc")  # GETEX must keep (not drop) the expiry
    with redis_db.client() as client:
        keys = list(client.scan_iter())
        assert len(keys) == 2
        for key in keys:
            assert key.startswith(DEFAULT_PREFIX.encode())
            assert 0 < client.pttl(key) <= TTL * 1000
            value = client.get(key)
            assert value is not None
            assert SessionEntry.from_json(value) == SessionEntry(NAMED, "alice")


async def test_count_sees_only_its_own_prefix(redis_db: RedisServer, redis_store: RedisStore) -> None:
    # A prefix with glob characters must match literally: unescaped, "t[1]:*" would match "t1:…".
    globby = RedisStore(redis_db.url, ttl=TTL, prefix="t[1]:")
    plain = RedisStore(redis_db.url, ttl=TTL, prefix="t1:")
    try:
        await redis_store.put("k", SessionEntry(OTHER, "alice"))
        await globby.put("k", SessionEntry(OTHER, "alice"))
        for key in ("a", "b", "c"):
            await plain.put(key, SessionEntry(OTHER, "alice"))
        with redis_db.client() as client:
            client.set("unrelated", "x")
        assert (await redis_store.count(), await globby.count(), await plain.count()) == (1, 1, 3)
        assert await globby.get("a") is None
    finally:
        await globby.aclose()
        await plain.aclose()


async def test_a_malformed_entry_is_a_store_error_that_names_no_key(
    redis_db: RedisServer, redis_store: RedisStore
) -> None:
    with redis_db.client() as client:
        client.set(f"{DEFAULT_PREFIX}handle:secret-digest", "not json")
    with pytest.raises(StoreError, match="malformed") as caught:
        await redis_store.get("handle:secret-digest")
    assert not isinstance(caught.value, StoreUnavailable)
    assert "secret-digest" not in str(caught.value)


async def expect_unavailable(operation: Awaitable[object], within: float = UNAVAILABLE_WITHIN) -> str:
    """Await `operation`; it must raise StoreUnavailable within `within` seconds. Return the message."""
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as caught:
        await operation
    elapsed = time.monotonic() - started
    assert elapsed < within, f"took {elapsed:.2f}s"
    return str(caught.value)


async def test_unreachable_redis_is_store_unavailable_at_once() -> None:
    store = RedisStore(f"redis://127.0.0.1:{free_port()}/0", ttl=TTL)
    try:
        messages = [
            await expect_unavailable(store.ping()),
            await expect_unavailable(store.put("handle:secret-digest", SessionEntry(OTHER, "alice"))),
            await expect_unavailable(store.get("handle:secret-digest")),
            await expect_unavailable(store.delete("handle:secret-digest")),
            await expect_unavailable(store.count()),
        ]
    finally:
        await store.aclose()
    for message in messages:
        assert "unreachable" in message
        assert "ConnectionError" in message
        assert "secret-digest" not in message
        assert DEFAULT_PREFIX not in message


@pytest.fixture
def silent_listener() -> Iterator[int]:
    """A port that accepts TCP connections (the kernel does) but never answers: a hung Redis."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield int(sock.getsockname()[1])


async def test_hung_redis_is_store_unavailable_within_the_timeout(silent_listener: int) -> None:
    store = RedisStore(f"redis://127.0.0.1:{silent_listener}/0", ttl=TTL)  # default 2 s timeout
    try:
        message = await expect_unavailable(store.get("handle:secret-digest"))
    finally:
        await store.aclose()
    assert "TimeoutError" in message
    assert "secret-digest" not in message


async def test_store_recovers_by_itself_when_redis_comes_back(private_redis: RedisServer) -> None:
    store = RedisStore(private_redis.url, ttl=60)
    try:
        await store.put("before", SessionEntry(OTHER, "alice"))
        assert await store.get("before") is not None  # the pool now holds a live connection

        private_redis.stop()
        await expect_unavailable(store.ping())
        await expect_unavailable(store.get("before"))

        private_redis.start()
        started = time.monotonic()
        while True:
            try:
                await store.ping()
                break
            except StoreUnavailable:
                assert time.monotonic() - started < 5, "the store did not reconnect"
                await anyio.sleep(0.02)
        recovery = time.monotonic() - started
        print(f"RedisStore answered {recovery * 1000:.0f} ms after redis-server was back")

        # Redis restarted without persistence: the entry is gone, and that is an ordinary miss.
        assert await store.get("before") is None
        await store.put("after", SessionEntry(OTHER, "alice"))
        assert await store.get("after") == SessionEntry(OTHER, "alice")
    finally:
        await store.aclose()


async def test_a_redis_restart_between_calls_is_invisible_to_the_next_call(
    private_redis: RedisServer,
) -> None:
    store = RedisStore(private_redis.url, ttl=60)
    try:
        await store.put("k", SessionEntry(OTHER, "alice"))  # leaves a pooled connection behind
        private_redis.stop()
        private_redis.start()
        # The pooled connection is dead; the client must notice and reconnect, not fail this call.
        assert await store.get("k") is None
        await store.ping()
    finally:
        await store.aclose()
