"""Association slots leased in a real Redis: never more than the limit across holders, first come
first served, lapsing when their holder stops renewing, and clear errors when Redis is away."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from dicom_mcp.errors import StoreUnavailable
from dicom_mcp.state.limits.leases import POLL_SECONDS, RedisLeases
from testbeds.poll import until
from testbeds.redis import RedisServer

KEY = "127.0.0.1:11112"
LEASE = 1.0


@pytest.fixture
def leases(redis_db: RedisServer) -> Iterator[RedisLeases]:
    slots = RedisLeases(redis_db.url, LEASE)
    yield slots
    slots.close()


def deadline(seconds: float) -> float:
    return time.monotonic() + seconds


def recovered(slots: RedisLeases, within: float) -> bool:
    until = deadline(within)
    while time.monotonic() < until:
        try:
            return slots.take(KEY, 1, deadline(1)) is not None
        except StoreUnavailable:
            time.sleep(0.1)
    return False


def test_no_more_than_the_limit_are_taken_across_processes(redis_db: RedisServer) -> None:
    a, b = RedisLeases(redis_db.url, LEASE), RedisLeases(redis_db.url, LEASE)
    try:
        held = [a.take(KEY, 3, deadline(1)), b.take(KEY, 3, deadline(1)), a.take(KEY, 3, deadline(1))]
        assert all(held)
        started = time.monotonic()
        assert b.take(KEY, 3, deadline(0.5)) is None
        assert 0.45 <= time.monotonic() - started < 1.5
        assert b.take("10.0.0.9:104", 3, deadline(0.5)) is not None  # another PACS has its own slots
        assert (a.held, b.held) == (2, 2)
    finally:
        a.close()
        b.close()


def test_a_freed_slot_goes_to_a_waiter(leases: RedisLeases, redis_db: RedisServer) -> None:
    other = RedisLeases(redis_db.url, LEASE)
    try:
        token = leases.take(KEY, 1, deadline(1))
        assert token is not None
        got: list[str | None] = []
        waiter = threading.Thread(target=lambda: got.append(other.take(KEY, 1, deadline(5))))
        waiter.start()
        until(lambda: other.waiting == 1, what="the other holder waiting for the slot")
        freed = time.monotonic()
        leases.give(token)
        waiter.join(5)
        assert got and got[0] is not None
        assert time.monotonic() - freed < POLL_SECONDS * 1.25 + 0.2  # within one poll, no busy loop
        assert other.waits == 1
    finally:
        other.close()


def test_waiters_are_served_in_arrival_order(leases: RedisLeases) -> None:
    first = leases.take(KEY, 1, deadline(1))
    assert first is not None
    order: list[int] = []
    lock = threading.Lock()

    def wait(n: int) -> None:
        token = leases.take(KEY, 1, deadline(10))
        assert token is not None
        with lock:
            order.append(n)
        time.sleep(0.05)
        leases.give(token)

    threads = []
    for n in range(4):
        thread = threading.Thread(target=wait, args=(n,))
        thread.start()
        threads.append(thread)
        # Each joins the queue (found no free slot, so holds a ticket in Redis) before the next.
        until(lambda n=n: leases.waiting == n + 1, what=f"waiter {n} in the queue")
    leases.give(first)
    for thread in threads:
        thread.join(10)
    assert order == [0, 1, 2, 3]


def test_held_leases_are_renewed_past_the_lease_time(leases: RedisLeases, redis_db: RedisServer) -> None:
    assert leases.take(KEY, 1, deadline(1)) is not None
    time.sleep(LEASE * 2.5)
    other = RedisLeases(redis_db.url, LEASE)
    try:
        assert other.take(KEY, 1, deadline(0.3)) is None
    finally:
        other.close()


def test_a_holder_that_stops_renewing_loses_its_slots_within_the_lease_time(redis_db: RedisServer) -> None:
    dead = RedisLeases(redis_db.url, LEASE)
    assert dead.take(KEY, 2, deadline(1)) and dead.take(KEY, 2, deadline(1))
    dead.close()  # stops renewing, as a killed replica would
    alive = RedisLeases(redis_db.url, LEASE)
    try:
        started = time.monotonic()
        assert alive.take(KEY, 2, deadline(5)) is not None
        assert alive.take(KEY, 2, deadline(5)) is not None
        assert time.monotonic() - started <= LEASE + 0.75  # the lease time, plus a poll or so
    finally:
        alive.close()


def test_a_waiter_that_gives_up_leaves_the_queue(leases: RedisLeases, redis_db: RedisServer) -> None:
    token = leases.take(KEY, 1, deadline(1))
    assert token is not None
    assert leases.take(KEY, 1, deadline(0.3)) is None  # gave up: must not block the next caller
    leases.give(token)
    started = time.monotonic()
    assert leases.take(KEY, 1, deadline(2)) is not None
    assert time.monotonic() - started < 0.2


def test_keys_expire_and_name_no_address(leases: RedisLeases, redis_db: RedisServer) -> None:
    token = leases.take(KEY, 1, deadline(1))
    assert token is not None
    client = redis_db.client()
    keys = [key.decode() for key in client.keys("*")]
    assert keys and all("127.0.0.1" not in key for key in keys)
    assert all(client.pttl(key) > 0 for key in keys)
    leases.give(token)


def test_redis_stopped_is_a_store_error_within_the_timeout(private_redis: RedisServer) -> None:
    slots = RedisLeases(private_redis.url, LEASE)
    try:
        private_redis.stop()
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match="Redis is unreachable"):
            slots.take(KEY, 1, deadline(10))
        assert time.monotonic() - started < 3
        private_redis.start()
        assert recovered(slots, within=2.0)  # by itself, once the breaker's pause is over
    finally:
        slots.close()


def test_redis_frozen_is_a_store_error_within_the_timeout(private_redis: RedisServer) -> None:
    slots = RedisLeases(private_redis.url, LEASE)
    try:
        assert slots.take(KEY, 2, deadline(1)) is not None  # a pooled connection exists
        private_redis.pause()
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            slots.take(KEY, 2, deadline(10))
        assert time.monotonic() - started < 5
    finally:
        private_redis.resume()
        slots.close()
