"""The association pool on its own, with stand-in connections: limits, reuse, lifetime, timeouts."""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field

import pytest

from dicom_mcp.dimse.pool import Lease, Pool
from dicom_mcp.errors import PacsBusy, PoolTimeout
from testbeds.poll import until

LIFETIME = 0.3


@dataclass(eq=False)
class Conn:
    number: int
    healthy: bool = True
    closed: list[bool] = field(default_factory=list)  # how it was closed: True graceful, False aborted


class Opener:
    """Opens numbered connections and remembers them."""

    def __init__(self) -> None:
        self.opened: list[Conn] = []

    def __call__(self) -> Conn:
        conn = Conn(len(self.opened) + 1)
        self.opened.append(conn)
        return conn


def new_pool(capacity: int = 2, lifetime: float = LIFETIME) -> Pool[Conn]:
    return Pool(
        capacity,
        lifetime,
        lambda c: c.healthy and not c.closed,
        lambda c, graceful: c.closed.append(graceful),
    )


def soon(seconds: float = 5.0) -> float:
    return time.monotonic() + seconds


def waiting_for_a_slot(thread: threading.Thread) -> bool:
    """Whether `thread` is parked in `Pool.acquire`, waiting on the pool's condition for a slot."""
    frame = sys._current_frames().get(thread.ident or 0)
    return (
        frame is not None
        and frame.f_code is threading.Condition.wait.__code__
        and frame.f_back is not None
        and frame.f_back.f_code is Pool.acquire.__code__
    )


def test_a_connection_given_back_is_lent_again() -> None:
    pool, opener = new_pool(), Opener()
    first = pool.acquire(opener, soon())
    assert not first.reused
    pool.give_back(first)
    again = pool.acquire(opener, soon())
    assert again.conn is first.conn and again.reused and again.uses == 1
    assert len(opener.opened) == 1


def test_without_reuse_a_new_connection_is_opened() -> None:
    pool, opener = new_pool(), Opener()
    pool.give_back(pool.acquire(opener, soon()))
    fresh = pool.acquire(opener, soon(), reuse=False)
    assert fresh.conn.number == 2


def test_no_more_than_capacity_are_open_and_a_waiter_times_out_as_busy() -> None:
    pool, opener = new_pool(capacity=2), Opener()
    pool.acquire(opener, soon())
    pool.acquire(opener, soon())
    started = time.monotonic()
    with pytest.raises(PoolTimeout) as refused:
        pool.acquire(opener, started + 0.2)
    assert 0.15 <= time.monotonic() - started < 2
    assert isinstance(refused.value, PacsBusy)  # one error tree: the tool boundary maps it as "busy"
    assert len(opener.opened) == 2


def test_a_discarded_connection_frees_its_slot_for_a_waiter() -> None:
    pool, opener = new_pool(capacity=1), Opener()
    held = pool.acquire(opener, soon())
    got: list[Lease[Conn]] = []
    waiter = threading.Thread(target=lambda: got.append(pool.acquire(opener, soon())))
    waiter.start()
    until(lambda: waiting_for_a_slot(waiter), what="the waiter blocked on the full pool")
    assert not got
    pool.discard(held, graceful=False)
    waiter.join(5)
    assert held.conn.closed == [False]
    assert got and got[0].conn.number == 2


def test_an_unusable_idle_connection_is_closed_not_lent() -> None:
    pool, opener = new_pool(), Opener()
    lease = pool.acquire(opener, soon())
    pool.give_back(lease)
    lease.conn.healthy = False
    replacement = pool.acquire(opener, soon())
    assert replacement.conn.number == 2
    assert lease.conn.closed == [True]


def test_a_connection_past_its_lifetime_is_released_not_kept() -> None:
    lifetime = 0.05
    pool, opener = new_pool(lifetime=lifetime), Opener()
    lease = pool.acquire(opener, soon())
    # The scenario: the connection outlives its lifetime while in use.
    until(lambda: time.monotonic() - lease.opened >= lifetime, what="the lifetime over")
    pool.give_back(lease)
    until(lambda: lease.conn.closed == [True], what="the old connection closed")
    assert pool.idle == 0
    assert pool.acquire(opener, soon()).conn.number == 2


def test_idle_connections_are_reaped_at_the_end_of_their_lifetime() -> None:
    pool, opener = new_pool(lifetime=0.2), Opener()
    leases = [pool.acquire(opener, soon()), pool.acquire(opener, soon())]
    for lease in leases:
        pool.give_back(lease)
    assert pool.idle == 2
    until(lambda: pool.idle == 0, what="idle connections reaped")
    assert [lease.conn.closed for lease in leases] == [[True], [True]]


def test_a_failed_open_gives_its_slot_back() -> None:
    pool = new_pool(capacity=1)

    def refuse() -> Conn:
        raise ConnectionRefusedError

    with pytest.raises(ConnectionRefusedError):
        pool.acquire(refuse, soon())
    assert pool.acquire(Opener(), soon()).conn.number == 1


def test_close_releases_every_idle_connection() -> None:
    pool, opener = new_pool(lifetime=60), Opener()
    leases = [pool.acquire(opener, soon()), pool.acquire(opener, soon())]
    for lease in leases:
        pool.give_back(lease)
    pool.close()
    assert pool.idle == 0
    assert [lease.conn.closed for lease in leases] == [[True], [True]]


def test_when_full_of_idle_connections_the_oldest_makes_room_for_a_fresh_one() -> None:
    pool, opener = new_pool(capacity=1, lifetime=60), Opener()
    idle = pool.acquire(opener, soon())
    pool.give_back(idle)
    fresh = pool.acquire(opener, soon(), reuse=False)
    assert fresh.conn.number == 2 and idle.conn.closed == [True]
