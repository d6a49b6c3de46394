"""One contract, both maps: memory and Redis keep the reverse map of pseudonyms the same way.

Time: the memory map runs on an injected clock; Redis on real time with a short TTL, stepped
well inside it to show an entry staying alive, and polled (without touching the entry) to see
it go. Redis-only behaviour (key names, expiries, malformed entries, outages) follows.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import anyio
import pytest

from dicom_mcp.errors import StoreError, StoreUnavailable
from dicom_mcp.state.pseudonyms import MemoryTokenMap, RedisTokenMap, TokenMap, build_token_map
from dicom_mcp.state.pseudonyms.redis import DEFAULT_PREFIX
from dicom_mcp.state.pseudonyms.store import Original
from testbeds.net import free_port
from testbeds.poll import until_async
from testbeds.redis import RedisServer

pytestmark = pytest.mark.anyio

MEMORY_TTL = 60.0
REDIS_TTL = 0.5
# Each step is a fifth of the TTL: a step may overrun by most of a TTL before a test fails.
STEPS_PER_TTL = 5
UNAVAILABLE_WITHIN = 3.0

UID = Original("1.2.826.0.1.3680043.8.498.4242", "PID-ÄRGER-1")
PATIENT = Original("PID-ÄRGER-1", "PID-ÄRGER-1")
ACCESSION = Original("ACC-77-SECRET", "PID-ÄRGER-1")
STUDY = Original("STUDY-9", None)
ENTRIES = {
    ("uid", "2.25.123456789012345678901234567890"): UID,
    ("patient_id", "P-ABCDEFGHIJKL"): PATIENT,
    ("accession", "A-MNOPQRSTUVWX"): ACCESSION,
    ("study_id", "S-YZ234567ABCD"): STUDY,
}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Bed:
    """A map under test, its TTL, a way to let time pass, and a way to wait for an entry to go."""

    map: TokenMap
    ttl: float
    elapse: Callable[[float], Awaitable[None]]
    gone: Callable[[str, str, str], Awaitable[None]]

    async def step(self) -> None:
        await self.elapse(self.ttl / STEPS_PER_TTL)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def bed(request: pytest.FixtureRequest) -> AsyncIterator[Bed]:
    if request.param == "memory":
        clock = Clock()
        memory = MemoryTokenMap(ttl=MEMORY_TTL, max_entries=100, clock=clock)

        async def advance(seconds: float) -> None:
            clock.now += seconds

        async def past_ttl(principal: str, kind: str, token: str) -> None:
            clock.now += MEMORY_TTL

        yield Bed(memory, MEMORY_TTL, advance, past_ttl)
        await memory.aclose()
        return
    server: RedisServer = request.getfixturevalue("redis_db")
    shared = RedisTokenMap(server.url, ttl=REDIS_TTL)

    async def expired(principal: str, kind: str, token: str) -> None:
        # EXISTS does not touch the TTL, as recall would.
        with server.client() as client:
            key = shared.key(principal, kind, token)
            await until_async(lambda: not client.exists(key), what="the entry's expiry")

    yield Bed(shared, REDIS_TTL, anyio.sleep, expired)
    await shared.aclose()


# --- the shared contract --------------------------------------------------------------------------


async def test_remembered_tokens_recall_their_originals(bed: Bed) -> None:
    await bed.map.remember("alice", ENTRIES)
    for (kind, token), original in ENTRIES.items():
        assert await bed.map.recall("alice", kind, token) == original


async def test_a_token_means_nothing_to_another_principal(bed: Bed) -> None:
    await bed.map.remember("alice", ENTRIES)
    for kind, token in ENTRIES:
        assert await bed.map.recall("mallory", kind, token) is None
        assert await bed.map.recall("alice ", kind, token) is None


async def test_principals_keep_their_own_originals_for_one_token(bed: Bed) -> None:
    await bed.map.remember("alice", {("study_id", "S-SAME"): Original("1", None)})
    await bed.map.remember("bob@example.org", {("study_id", "S-SAME"): Original("2", None)})
    assert await bed.map.recall("alice", "study_id", "S-SAME") == Original("1", None)
    assert await bed.map.recall("bob@example.org", "study_id", "S-SAME") == Original("2", None)


async def test_kinds_are_separate(bed: Bed) -> None:
    await bed.map.remember("alice", {("accession", "X-1"): ACCESSION})
    assert await bed.map.recall("alice", "patient_id", "X-1") is None
    assert await bed.map.recall("alice", "study_id", "X-1") is None
    assert await bed.map.recall("alice", "accession", "X-1") == ACCESSION


async def test_unknown_and_overlong_tokens_are_none(bed: Bed) -> None:
    await bed.map.remember("alice", ENTRIES)
    assert await bed.map.recall("alice", "patient_id", "P-NEVERMINTED") is None
    assert await bed.map.recall("alice", "uid", "2.25." + "1" * 200) is None


async def test_remembering_nothing_is_allowed(bed: Bed) -> None:
    await bed.map.remember("alice", {})
    assert await bed.map.recall("alice", "patient_id", "P-ABCDEFGHIJKL") is None


async def test_idle_entries_expire(bed: Bed) -> None:
    await bed.map.remember("alice", ENTRIES)
    await bed.gone("alice", "patient_id", "P-ABCDEFGHIJKL")
    for kind, token in ENTRIES:
        assert await bed.map.recall("alice", kind, token) is None


async def test_recall_slides_the_ttl(bed: Bed) -> None:
    await bed.map.remember("alice", {("patient_id", "P-1"): PATIENT, ("accession", "A-1"): ACCESSION})
    for _ in range(2 * STEPS_PER_TTL):  # two TTLs in all, each recall well within one of the last
        await bed.step()
        assert await bed.map.recall("alice", "patient_id", "P-1") == PATIENT
    await bed.gone("alice", "accession", "A-1")  # the entry nobody used went meanwhile
    await bed.gone("alice", "patient_id", "P-1")  # and the used one goes once left alone
    assert await bed.map.recall("alice", "patient_id", "P-1") is None


async def test_remember_slides_the_ttl(bed: Bed) -> None:
    await bed.map.remember("alice", {("patient_id", "P-1"): PATIENT})
    for _ in range(2 * STEPS_PER_TTL):  # the token is emitted again and again
        await bed.step()
        await bed.map.remember("alice", {("patient_id", "P-1"): PATIENT})
    assert await bed.map.recall("alice", "patient_id", "P-1") == PATIENT


async def test_ping_answers_when_the_store_is_up(bed: Bed) -> None:
    await bed.map.remember("alice", ENTRIES)
    assert await bed.map.ping() is None
    assert await bed.map.recall("alice", "uid", "2.25.123456789012345678901234567890") == UID


# --- memory only ----------------------------------------------------------------------------------


async def test_memory_map_is_bounded_and_evicts_least_recently_used() -> None:
    bounded = MemoryTokenMap(ttl=60, max_entries=3)
    for token in ("P-A", "P-B", "P-C"):
        await bounded.remember("alice", {("patient_id", token): PATIENT})
    await bounded.recall("alice", "patient_id", "P-A")
    await bounded.remember("alice", {("patient_id", "P-D"): PATIENT})
    assert await bounded.recall("alice", "patient_id", "P-B") is None
    for token in ("P-A", "P-C", "P-D"):
        assert await bounded.recall("alice", "patient_id", token) == PATIENT
    assert len(bounded) == 3


async def test_memory_map_keeps_the_newest_of_an_oversized_emission() -> None:
    bounded = MemoryTokenMap(ttl=60, max_entries=2)
    await bounded.remember("alice", {("study_id", f"S-{n}"): STUDY for n in range(5)})
    assert len(bounded) == 2
    assert await bounded.recall("alice", "study_id", "S-4") == STUDY
    assert await bounded.recall("alice", "study_id", "S-0") is None


async def test_build_token_map_follows_the_store_url() -> None:
    memory = build_token_map("memory://", ttl=60, max_entries=10)
    shared = build_token_map(f"redis://127.0.0.1:{free_port()}/0", ttl=60, max_entries=10)
    try:
        assert isinstance(memory, MemoryTokenMap)
        assert isinstance(shared, RedisTokenMap)
    finally:
        await memory.aclose()
        await shared.aclose()


# --- Redis only -----------------------------------------------------------------------------------


@pytest.fixture
async def redis_map(redis_db: RedisServer) -> AsyncIterator[RedisTokenMap]:
    shared = RedisTokenMap(redis_db.url, ttl=60)
    yield shared
    await shared.aclose()


def all_keys(server: RedisServer) -> list[str]:
    with server.client() as client:
        return sorted(key.decode() for key in client.scan_iter())


async def test_redis_keys_name_the_principal_digest_kind_and_token_and_carry_a_ttl(
    redis_db: RedisServer, redis_map: RedisTokenMap
) -> None:
    await redis_map.remember("alice", ENTRIES)
    await redis_map.recall("alice", "study_id", "S-YZ234567ABCD")  # GETEX must keep (not drop) the expiry
    digest = hashlib.sha256(b"alice").hexdigest()[:32]
    assert all_keys(redis_db) == sorted(f"{DEFAULT_PREFIX}{digest}:{kind}:{token}" for kind, token in ENTRIES)
    with redis_db.client() as client:
        for (kind, token), original in ENTRIES.items():
            key = f"{DEFAULT_PREFIX}{digest}:{kind}:{token}"
            assert 0 < client.pttl(key) <= 60_000
            value = client.get(key)
            assert value is not None
            assert Original.from_json(value) == original


async def test_no_original_and_no_principal_appears_in_redis_key_names(
    redis_db: RedisServer, redis_map: RedisTokenMap
) -> None:
    principal = "research-assistant@hospital.example"
    await redis_map.remember(principal, ENTRIES)
    keys = all_keys(redis_db)
    assert len(keys) == len(ENTRIES)
    originals = {o.value for o in ENTRIES.values()} | {o.patient for o in ENTRIES.values() if o.patient}
    assert [(key, text) for key in keys for text in {*originals, principal} if text in key] == []


async def test_replicas_on_one_redis_share_the_map(redis_db: RedisServer, redis_map: RedisTokenMap) -> None:
    other = RedisTokenMap(redis_db.url, ttl=60)
    try:
        await redis_map.remember("alice", ENTRIES)
        assert await other.recall("alice", "accession", "A-MNOPQRSTUVWX") == ACCESSION
    finally:
        await other.aclose()


@pytest.mark.parametrize("stored", ["not json", '["a list"]', '{"value": 7, "patient": null}', b"\xff\xfe"])
async def test_a_malformed_entry_is_a_store_error_that_names_no_key(
    redis_db: RedisServer, redis_map: RedisTokenMap, stored: str | bytes
) -> None:
    with redis_db.client() as client:
        client.set(redis_map.key("alice", "patient_id", "P-SECRETTOKEN"), stored)
    with pytest.raises(StoreError, match="malformed") as caught:
        await redis_map.recall("alice", "patient_id", "P-SECRETTOKEN")
    assert not isinstance(caught.value, StoreUnavailable)
    assert "P-SECRETTOKEN" not in str(caught.value)


async def expect_unavailable(operation: Awaitable[object]) -> str:
    started = anyio.current_time()
    with pytest.raises(StoreUnavailable) as caught:
        await operation
    assert anyio.current_time() - started < UNAVAILABLE_WITHIN
    return str(caught.value)


async def test_redis_down_is_store_unavailable(private_redis: RedisServer) -> None:
    shared = RedisTokenMap(private_redis.url, ttl=60)
    try:
        await shared.remember("alice", ENTRIES)
        private_redis.stop()
        messages = [
            await expect_unavailable(shared.ping()),
            await expect_unavailable(shared.remember("alice", ENTRIES)),
            await expect_unavailable(shared.recall("alice", "patient_id", "P-ABCDEFGHIJKL")),
        ]
    finally:
        await shared.aclose()
    for message in messages:
        assert "unreachable" in message
        assert "P-ABCDEFGHIJKL" not in message
        assert DEFAULT_PREFIX not in message
