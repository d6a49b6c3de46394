"""The hand-off of C-MOVE results between replicas through a real Redis (`state.moves.MoveRelay`).

Each `MoveRelay` here is one replica's client. A retrieval claims its C-MOVE's Message ID (no
other replica may hold it); a replica that receives an instance for it forwards it, in chunks,
within the claim's byte cap; the waiting replica pulls it whole. Keys name Message IDs, never
UIDs, and all of them expire. Then two `Receiver`s sharing one Redis: what a PACS sends to one
reaches the retrieval waiting at the other.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from pydicom.uid import ExplicitVRLittleEndian, JPEGBaseline8Bit

from dicom_mcp.dimse.receiver import Receiver
from dicom_mcp.dimse.waits import MAX_CLAIMS, NOT_AUTHORIZED, OUT_OF_RESOURCES, SUCCESS, Waits
from dicom_mcp.errors import RetrieveTooLarge, ServiceBusy, StoreUnavailable
from dicom_mcp.pacs.budget import Budget
from dicom_mcp.state.moves import CHUNK, DEFAULT_PREFIX, MoveRelay
from testbeds.redis import RedisServer
from tests.receiver_units.peers import LOOPBACK, PACS_AE, SERVICE_AE, Sent, ct, store, wire_bytes
from tests.servers import stop_promptly

A, B = "1.2.826.0.1.3680043.10.2.1", "1.2.826.0.1.3680043.10.2.2"
TTL = 30.0
PATIENCE = 10.0  # how long a test waits for something that should happen at once
MAX_BYTES = 8 << 20


@pytest.fixture
def replicas(redis_db: RedisServer) -> Iterator[tuple[MoveRelay, MoveRelay]]:
    """Two replicas' clients of one Redis."""
    one, other = MoveRelay(redis_db.url, TTL), MoveRelay(redis_db.url, TTL)
    try:
        yield one, other
    finally:
        one.close()
        other.close()


def keys_of(redis: RedisServer) -> dict[str, int]:
    """Every key in Redis, with its remaining time to live in ms (-1: none)."""
    with redis.client() as client:
        return {key.decode(): int(client.pttl(key)) for key in client.scan_iter("*")}


# --- claims ------------------------------------------------------------------------------------


def test_a_message_id_is_claimed_by_one_replica_only(replicas: tuple[MoveRelay, MoveRelay]) -> None:
    one, other = replicas
    assert one.claim(5, [A], 1000, PACS_AE)
    assert not other.claim(5, [B], 1000, PACS_AE)
    assert not one.claim(5, [B], 1000, PACS_AE)
    assert other.claim(6, [B], 1000, PACS_AE)


def test_a_released_message_id_can_be_claimed_again(replicas: tuple[MoveRelay, MoveRelay]) -> None:
    one, other = replicas
    assert one.claim(5, [A], 1000, PACS_AE)
    one.release(5)
    assert other.claim(5, [B], 1000, PACS_AE)


def test_sources_name_the_moving_pacs_while_a_retrieval_waits(replicas: tuple[MoveRelay, MoveRelay]) -> None:
    one, other = replicas
    assert other.sources(5) == set()
    one.claim(5, [A], 1000, PACS_AE)
    assert other.sources(5) == {PACS_AE}
    one.release(5)
    assert other.sources(5) == set()


# --- forward and pull --------------------------------------------------------------------------


def test_an_instance_for_an_unclaimed_message_id_is_not_awaited(
    replicas: tuple[MoveRelay, MoveRelay],
) -> None:
    one, _ = replicas
    assert one.forward(5, A, ExplicitVRLittleEndian, b"data") == "not awaited"


def test_an_instance_the_claim_did_not_ask_for_is_not_asked_for(
    replicas: tuple[MoveRelay, MoveRelay],
) -> None:
    one, other = replicas
    one.claim(5, [A], 1000, PACS_AE)
    assert other.forward(5, B, ExplicitVRLittleEndian, b"data") == "not asked for"
    assert one.pull(5, 0.2) is None


def test_a_claim_without_expected_uids_takes_any_instance(replicas: tuple[MoveRelay, MoveRelay]) -> None:
    one, other = replicas
    one.claim(5, None, 1000, PACS_AE)
    assert other.forward(5, B, ExplicitVRLittleEndian, b"data") == "kept"
    assert one.pull(5, PATIENCE) == (B, ExplicitVRLittleEndian, b"data")


def test_instances_past_the_claims_cap_are_too_large(replicas: tuple[MoveRelay, MoveRelay]) -> None:
    one, other = replicas
    one.claim(5, [A, B], 150, PACS_AE)
    assert other.forward(5, A, ExplicitVRLittleEndian, b"x" * 100) == "kept"
    assert other.forward(5, B, ExplicitVRLittleEndian, b"y" * 100) == "too large"
    assert one.pull(5, PATIENCE) == (A, ExplicitVRLittleEndian, b"x" * 100)


def test_an_instance_larger_than_a_chunk_is_pulled_whole_by_the_other_replica(
    replicas: tuple[MoveRelay, MoveRelay], redis_db: RedisServer
) -> None:
    one, other = replicas
    data = bytes(range(256)) * (3 * CHUNK // 256) + b"tail"
    one.claim(5, [A], len(data), PACS_AE)
    assert other.forward(5, A, JPEGBaseline8Bit, data) == "kept"
    with redis_db.client() as client:
        (chunked,) = [key for key in client.scan_iter(f"{DEFAULT_PREFIX}5:data:*")]
        assert client.llen(chunked) == 4  # stored in chunks of CHUNK bytes
    assert one.pull(5, PATIENCE) == (A, JPEGBaseline8Bit, data)
    assert not [key for key in keys_of(redis_db) if ":data:" in key]  # pulled, then gone


def test_instances_are_pulled_in_the_order_they_were_forwarded(replicas: tuple[MoveRelay, MoveRelay]) -> None:
    one, other = replicas
    one.claim(5, [A, B], 1000, PACS_AE)
    other.forward(5, B, ExplicitVRLittleEndian, b"second")
    other.forward(5, A, ExplicitVRLittleEndian, b"first")
    assert one.pull(5, PATIENCE) == (B, ExplicitVRLittleEndian, b"second")
    assert one.pull(5, PATIENCE) == (A, ExplicitVRLittleEndian, b"first")


def test_an_empty_instance_is_forwarded_as_empty(replicas: tuple[MoveRelay, MoveRelay]) -> None:
    one, other = replicas
    one.claim(5, [A], 1000, PACS_AE)
    assert other.forward(5, A, ExplicitVRLittleEndian, b"") == "kept"
    assert one.pull(5, PATIENCE) == (A, ExplicitVRLittleEndian, b"")


def test_pull_returns_none_after_its_timeout_when_nothing_came(replicas: tuple[MoveRelay, MoveRelay]) -> None:
    one, _ = replicas
    one.claim(5, [A], 1000, PACS_AE)
    started = time.monotonic()
    assert one.pull(5, 0.2) is None
    assert time.monotonic() - started >= 0.15


# --- what Redis holds --------------------------------------------------------------------------


def test_every_key_expires_and_none_names_a_uid(
    replicas: tuple[MoveRelay, MoveRelay], redis_db: RedisServer
) -> None:
    one, other = replicas
    one.claim(5, [A, B], 10 * CHUNK, PACS_AE)
    other.forward(5, A, ExplicitVRLittleEndian, b"x" * (CHUNK + 1))
    other.forward(5, B, ExplicitVRLittleEndian, b"y" * 10)
    held = keys_of(redis_db)
    assert len(held) >= 5  # the claim, the byte count, the sequence, two instances' data, arrivals
    assert {key: ttl for key, ttl in held.items() if not 0 < ttl <= TTL * 1000} == {}
    assert [key for key in held if A in key or B in key or "1.2.826" in key] == []


def test_a_refused_forward_leaves_no_key_without_a_ttl(
    replicas: tuple[MoveRelay, MoveRelay], redis_db: RedisServer
) -> None:
    one, other = replicas
    one.claim(5, [A], 100, PACS_AE)
    assert other.forward(5, A, ExplicitVRLittleEndian, b"x" * 1000) == "too large"
    assert {key: ttl for key, ttl in keys_of(redis_db).items() if ttl <= 0} == {}


def test_release_removes_what_the_retrieval_kept(
    replicas: tuple[MoveRelay, MoveRelay], redis_db: RedisServer
) -> None:
    one, other = replicas
    one.claim(5, [A], 1000, PACS_AE)
    other.forward(5, A, ExplicitVRLittleEndian, b"data")
    one.pull(5, PATIENCE)
    one.release(5)
    assert keys_of(redis_db) == {}


# --- Redis away --------------------------------------------------------------------------------


def test_every_operation_fails_as_store_unavailable_when_redis_is_stopped(private_redis: RedisServer) -> None:
    relay = MoveRelay(private_redis.url, TTL, timeout=1)
    try:
        assert relay.claim(5, [A], 1000, PACS_AE)
        private_redis.stop()
        with pytest.raises(StoreUnavailable):
            relay.claim(6, [A], 1000, PACS_AE)
        with pytest.raises(StoreUnavailable):
            relay.forward(5, A, ExplicitVRLittleEndian, b"data")
        with pytest.raises(StoreUnavailable):
            relay.pull(5, 0.1)
        with pytest.raises(StoreUnavailable):
            relay.sources(5)
        with pytest.raises(StoreUnavailable):
            relay.release(5)
    finally:
        relay.close()


def test_a_waiter_that_could_not_claim_its_message_id_is_not_left_waiting(private_redis: RedisServer) -> None:
    relay = MoveRelay(private_redis.url, TTL, timeout=1)
    waits = Waits(relay)
    try:
        private_redis.stop()
        with pytest.raises(StoreUnavailable), waits.waiting([A], Budget(1000), PACS_AE):
            pass
        assert len(waits) == 0
    finally:
        relay.close()


# --- Waits across replicas ---------------------------------------------------------------------


def test_a_waiter_skips_message_ids_another_replica_holds(replicas: tuple[MoveRelay, MoveRelay]) -> None:
    one, other = replicas
    for message_id in (1, 2, 3):
        assert other.claim(message_id, None, 1000, PACS_AE)
    waits = Waits(one)
    with waits.waiting([A], Budget(1000), PACS_AE) as waiter:
        assert waiter.message_id == 4
        assert waits.find(1) is None
        assert one.sources(4) == {PACS_AE}
    assert one.sources(4) == set()  # released with the waiter


def test_when_other_replicas_hold_every_id_tried_a_waiter_is_busy(
    replicas: tuple[MoveRelay, MoveRelay],
) -> None:
    one, other = replicas
    for message_id in range(1, MAX_CLAIMS + 1):
        other.claim(message_id, None, 1000, PACS_AE)
    waits = Waits(one)
    with pytest.raises(ServiceBusy, match="replicas"), waits.waiting([A], Budget(1000), PACS_AE):
        pass
    assert len(waits) == 0


# --- two receivers, one Redis ------------------------------------------------------------------


@contextmanager
def receiver_on(url: str) -> Iterator[Receiver]:
    receiver = Receiver(SERVICE_AE, LOOPBACK, 0, frozenset({LOOPBACK}), MAX_BYTES, MoveRelay(url, TTL))
    receiver.start()
    try:
        yield receiver
    finally:
        stop_promptly(receiver)  # closes its relay too


@pytest.fixture
def pair(redis_db: RedisServer) -> Iterator[tuple[Receiver, Receiver]]:
    """Two replicas' receivers, under one AE title, sharing one Redis."""
    with receiver_on(redis_db.url) as one, receiver_on(redis_db.url) as other:
        yield one, other


@pytest.mark.parametrize("originator", [SERVICE_AE, PACS_AE], ids=["ours", "the moving PACS's"])
def test_what_one_replica_receives_reaches_the_retrieval_waiting_at_the_other(
    pair: tuple[Receiver, Receiver], originator: str
) -> None:
    waiting, receiving = pair
    ds = ct(payload=4000)
    with waiting.waits.waiting([ds.SOPInstanceUID], Budget(MAX_BYTES), PACS_AE) as waiter:
        with waiting.collecting(waiter):
            assert store(receiving.port, [Sent(ds, originator, waiter.message_id)]) == [SUCCESS]
            assert waiter.wait_for(1, time.monotonic() + PATIENCE)
        assert [(i.data, i.syntax) for i in waiter.instances] == [(wire_bytes(ds), ExplicitVRLittleEndian)]
    assert waiting.refusals == receiving.refusals == {}


def test_a_multi_mib_instance_crosses_between_replicas_byte_for_byte(pair: tuple[Receiver, Receiver]) -> None:
    waiting, receiving = pair
    ds = ct(payload=3 * CHUNK + 7)
    with waiting.waits.waiting([ds.SOPInstanceUID], Budget(MAX_BYTES), PACS_AE) as waiter:
        with waiting.collecting(waiter):
            assert store(receiving.port, [Sent(ds, SERVICE_AE, waiter.message_id)]) == [SUCCESS]
            assert waiter.wait_for(1, time.monotonic() + PATIENCE)
        assert [i.data for i in waiter.instances] == [wire_bytes(ds)]


def test_instances_of_one_move_split_between_replicas_all_reach_the_retrieval(
    pair: tuple[Receiver, Receiver],
) -> None:
    waiting, receiving = pair
    here, there = ct(), ct()
    expected = [here.SOPInstanceUID, there.SOPInstanceUID]
    with waiting.waits.waiting(expected, Budget(MAX_BYTES), PACS_AE) as waiter:
        with waiting.collecting(waiter):
            assert store(waiting.port, [Sent(here, SERVICE_AE, waiter.message_id)]) == [SUCCESS]
            assert store(receiving.port, [Sent(there, SERVICE_AE, waiter.message_id)]) == [SUCCESS]
            assert waiter.wait_for(2, time.monotonic() + PATIENCE)
        assert sorted(i.data for i in waiter.instances) == sorted([wire_bytes(here), wire_bytes(there)])


def test_the_other_replica_refuses_a_foreign_originator(pair: tuple[Receiver, Receiver]) -> None:
    waiting, receiving = pair
    ds = ct()
    with waiting.waits.waiting([ds.SOPInstanceUID], Budget(MAX_BYTES), PACS_AE) as waiter:
        with waiting.collecting(waiter):
            assert store(receiving.port, [Sent(ds, "SOMEONEELSE", waiter.message_id)]) == [NOT_AUTHORIZED]
        assert waiter.instances == []
    assert receiving.refusals == {"not awaited": 1}


def test_the_other_replica_refuses_an_instance_not_asked_for(pair: tuple[Receiver, Receiver]) -> None:
    waiting, receiving = pair
    asked, other = ct(), ct()
    with waiting.waits.waiting([asked.SOPInstanceUID], Budget(MAX_BYTES), PACS_AE) as waiter:
        with waiting.collecting(waiter):
            assert store(receiving.port, [Sent(other, SERVICE_AE, waiter.message_id)]) == [NOT_AUTHORIZED]
        assert waiter.instances == []
    assert receiving.refusals == {"not asked for": 1}


@pytest.mark.parametrize("expected", ["asked", "anything"])
def test_a_second_copy_at_the_other_replica_does_not_leave_the_retrieval_waiting(
    pair: tuple[Receiver, Receiver], expected: str
) -> None:
    # The client waits until as many instances arrived as the PACS says it stored (completed +
    # warning: every C-STORE some replica answered 0x0000). A copy one replica accepts and the
    # waiting one then drops must not leave the retrieval waiting for it until the deadline.
    waiting, receiving = pair
    ds = ct()
    uids = [ds.SOPInstanceUID] if expected == "asked" else None
    with waiting.waits.waiting(uids, Budget(MAX_BYTES), PACS_AE) as waiter:
        with waiting.collecting(waiter):
            here = store(waiting.port, [Sent(ds, SERVICE_AE, waiter.message_id)])
            there = store(receiving.port, [Sent(ds, SERVICE_AE, waiter.message_id)])
            assert here is not None and there is not None
            completed = (here + there).count(SUCCESS)
            assert waiter.wait_for(completed, time.monotonic() + 3), (
                f"the PACS would report {completed} stored; {len(waiter.instances)} arrived"
            )
        assert len(waiter.instances) == 1


def test_an_instance_no_replica_waits_for_is_refused(pair: tuple[Receiver, Receiver]) -> None:
    _, receiving = pair
    assert store(receiving.port, [Sent(ct(), SERVICE_AE, 77)]) == [NOT_AUTHORIZED]
    assert receiving.refusals == {"not awaited": 1}


def test_past_the_cap_at_the_other_replica_the_waiting_retrieval_is_refused(
    pair: tuple[Receiver, Receiver],
) -> None:
    waiting, receiving = pair
    ds = ct(payload=5000)
    with waiting.waits.waiting([ds.SOPInstanceUID], Budget(1000), PACS_AE) as waiter:
        with waiting.collecting(waiter):
            assert store(receiving.port, [Sent(ds, SERVICE_AE, waiter.message_id)]) == [OUT_OF_RESOURCES]
            # The C-MOVE must be cancelled as when the waiting replica itself receives too much.
            assert waiter.wait_for(1, time.monotonic() + 3), "the waiting retrieval was not told"
        assert isinstance(waiter.refused, RetrieveTooLarge)
    assert receiving.refusals == {"too large": 1}


def test_a_replica_that_cannot_reach_redis_answers_out_of_resources(private_redis: RedisServer) -> None:
    with receiver_on(private_redis.url) as receiving:
        private_redis.stop()
        assert store(receiving.port, [Sent(ct(), SERVICE_AE, 5)]) == [OUT_OF_RESOURCES]
        assert receiving.refusals == {"store unavailable": 1}


def test_a_waiting_retrieval_stops_when_redis_goes_away(private_redis: RedisServer) -> None:
    # Whether the release at the end fails too is not this test's concern.
    with (
        receiver_on(private_redis.url) as waiting,
        contextlib.suppress(StoreUnavailable),
        waiting.waits.waiting([A], Budget(1000), PACS_AE) as waiter,
    ):
        private_redis.stop()
        with waiting.collecting(waiter):
            assert waiter.wait_for(1, time.monotonic() + PATIENCE)
        assert isinstance(waiter.refused, StoreUnavailable)
        assert waiter.instances == []
