"""What only the memory store does (a bound on entries), and resolution without any stored entry.

The behaviour every store shares lives in test_store_contract.py and runs on memory and Redis.
"""

import pytest

from dicom_mcp.errors import SessionNotFound
from dicom_mcp.model.target import Target, TlsSettings
from dicom_mcp.state.sessions.memory import MemoryStore
from dicom_mcp.state.sessions.resolver import SessionResolver
from dicom_mcp.state.sessions.store import SessionEntry

pytestmark = pytest.mark.anyio

DEFAULT = Target("127.0.0.1", 11112, "ANY-SCP", "default")
OTHER = Target("10.0.0.5", 104, "PACS2")


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore(ttl=60, max_entries=3)


async def test_store_is_bounded_and_evicts_least_recently_used(store: MemoryStore) -> None:
    for key in "abc":
        await store.put(key, SessionEntry(OTHER, "alice"))
    await store.get("a")
    await store.put("d", SessionEntry(OTHER, "alice"))
    assert await store.get("b") is None
    assert await store.get("a") is not None
    assert await store.count() == 3


async def test_no_handle_and_no_connection_means_default_pacs(store: MemoryStore) -> None:
    assert await SessionResolver(store, DEFAULT).resolve(None, "alice", None) == DEFAULT


async def test_unknown_handle_is_a_clear_error_not_the_default(store: MemoryStore) -> None:
    with pytest.raises(SessionNotFound, match="configure_dicom_server"):
        await SessionResolver(store, DEFAULT).resolve("no-such-handle", "alice", None)


async def test_a_removed_node_ends_its_sessions_instead_of_dropping_tls() -> None:
    secure = Target("10.0.0.9", 2762, "SECURE", name="secure", tls=TlsSettings())
    store = MemoryStore(ttl=60, max_entries=10)
    before = SessionResolver(store, DEFAULT, nodes={"secure": secure})
    handle = await before.configure(secure, "alice", None)
    assert await before.resolve(handle, "alice", None) == secure
    after = SessionResolver(store, DEFAULT, nodes={})  # the operator removed the node
    with pytest.raises(SessionNotFound, match="no longer configured"):
        await after.resolve(handle, "alice", None)


async def test_the_default_node_follows_the_current_settings() -> None:
    store = MemoryStore(ttl=60, max_entries=10)
    handle = await SessionResolver(store, DEFAULT).configure(DEFAULT, "alice", None)
    moved = Target("127.0.0.2", 104, "NEW-SCP", "default")
    assert await SessionResolver(store, moved).resolve(handle, "alice", None) == moved
