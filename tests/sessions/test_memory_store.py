"""The session store contract, and the resolution order built on it."""

import pytest

from dicom_mcp.dicom.target import Target
from dicom_mcp.sessions.memory import MemoryStore
from dicom_mcp.sessions.resolver import SessionNotFound, SessionResolver
from dicom_mcp.sessions.store import SessionEntry

pytestmark = pytest.mark.anyio

DEFAULT = Target("127.0.0.1", 11112, "ANY-SCP", "default")
OTHER = Target("10.0.0.5", 104, "PACS2")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> MemoryStore:
    return MemoryStore(ttl=60, max_entries=3, clock=clock)


async def test_entries_round_trip(store: MemoryStore) -> None:
    await store.put("k", SessionEntry(OTHER, "alice"))
    assert await store.get("k") == SessionEntry(OTHER, "alice")
    assert await store.count() == 1


async def test_entries_expire_after_idle_ttl_and_reads_slide_it(store: MemoryStore, clock: Clock) -> None:
    await store.put("k", SessionEntry(OTHER, "alice"))
    clock.now += 50
    assert await store.get("k") is not None  # refreshes the TTL
    clock.now += 50
    assert await store.get("k") is not None
    clock.now += 61
    assert await store.get("k") is None
    assert await store.count() == 0


async def test_store_is_bounded_and_evicts_least_recently_used(store: MemoryStore) -> None:
    for key in "abc":
        await store.put(key, SessionEntry(OTHER, "alice"))
    await store.get("a")
    await store.put("d", SessionEntry(OTHER, "alice"))
    assert await store.get("b") is None
    assert await store.get("a") is not None
    assert await store.count() == 3


async def test_handle_resolves_to_its_target(store: MemoryStore) -> None:
    resolver = SessionResolver(store, DEFAULT)
    handle = await resolver.configure(OTHER, "alice", None)
    assert len(handle) >= 32
    assert await resolver.resolve(handle, "alice", None) == OTHER


async def test_no_handle_and_no_connection_means_default_pacs(store: MemoryStore) -> None:
    assert await SessionResolver(store, DEFAULT).resolve(None, "alice", None) == DEFAULT


async def test_connection_binding_serves_older_clients_without_a_handle(store: MemoryStore) -> None:
    resolver = SessionResolver(store, DEFAULT)
    await resolver.configure(OTHER, "alice", "http:abc")
    assert await resolver.resolve(None, "alice", "http:abc") == OTHER
    assert await resolver.resolve(None, "alice", "http:xyz") == DEFAULT


async def test_unknown_handle_is_a_clear_error_not_the_default(store: MemoryStore) -> None:
    with pytest.raises(SessionNotFound, match="configure_dicom_server"):
        await SessionResolver(store, DEFAULT).resolve("no-such-handle", "alice", None)


async def test_expired_handle_is_a_clear_error(store: MemoryStore, clock: Clock) -> None:
    resolver = SessionResolver(store, DEFAULT)
    handle = await resolver.configure(OTHER, "alice", None)
    clock.now += 61
    with pytest.raises(SessionNotFound, match="unknown or expired"):
        await resolver.resolve(handle, "alice", None)


async def test_another_principals_handle_is_answered_like_an_unknown_one(store: MemoryStore) -> None:
    resolver = SessionResolver(store, DEFAULT)
    handle = await resolver.configure(OTHER, "alice", "http:abc")
    with pytest.raises(SessionNotFound) as foreign:
        await resolver.resolve(handle, "mallory", None)
    with pytest.raises(SessionNotFound) as unknown:
        await resolver.resolve("x" * len(handle), "mallory", None)
    assert str(foreign.value) == str(unknown.value)
    assert await resolver.resolve(None, "mallory", "http:abc") == DEFAULT


async def test_store_never_holds_raw_handles(store: MemoryStore) -> None:
    handle = await SessionResolver(store, DEFAULT).configure(OTHER, "alice", None)
    assert all(handle not in key for key in store._entries)
