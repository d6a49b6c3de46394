"""A retrieval waiting at the receiver (`Waiter`) and the retrievals in flight (`Waits`).

A waiter keeps the instances it asked for, once each, within its call's byte budget; it refuses
the others (0x0124), stops at the budget (0xA700, and says why in `refused`), and counts what it
cannot understand (0xC000). `Waits` gives each waiter a C-MOVE Message ID no other waiter holds.
"""

from __future__ import annotations

import threading
import time
import zlib
from contextlib import ExitStack

import pytest
from pydicom.uid import DeflatedExplicitVRLittleEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from dicom_mcp.dimse import waits as waits_module
from dicom_mcp.dimse.waits import (
    CANNOT_UNDERSTAND,
    MAX_MESSAGE_ID,
    NOT_AUTHORIZED,
    OUT_OF_RESOURCES,
    SUCCESS,
    Waiter,
    Waits,
)
from dicom_mcp.errors import RetrieveTooLarge, ServiceBusy
from dicom_mcp.pacs.budget import Budget, Pool

A, B, C = "1.2.826.0.1.3680043.10.1.1", "1.2.826.0.1.3680043.10.1.2", "1.2.826.0.1.3680043.10.1.3"
WHERE = "receiver MCPSCU"
PATIENCE = 5.0  # how long a test waits for something that should happen at once


def waiter(expected: set[str] | None = None, cap: int = 1000, pool: Pool | None = None) -> Waiter:
    return Waiter(7, None if expected is None else frozenset(expected), Budget(cap, pool), "PACS")


def deflated(data: bytes) -> bytes:
    squeezer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return squeezer.compress(data) + squeezer.flush()


# --- Waiter.take -------------------------------------------------------------------------------


def test_an_expected_instance_within_the_budget_is_kept_as_sent() -> None:
    w = waiter({A})
    assert w.take(A, b"x" * 100, ExplicitVRLittleEndian, WHERE) == SUCCESS
    assert [(i.data, i.syntax) for i in w.instances] == [(b"x" * 100, ExplicitVRLittleEndian)]
    assert w.budget.held == 100
    assert (w.failed, w.refused) == (0, None)


def test_a_waiter_that_expects_anything_keeps_any_instance() -> None:
    w = waiter(None)
    assert w.take(A, b"a", ImplicitVRLittleEndian, WHERE) == SUCCESS
    assert w.take(B, b"b", ImplicitVRLittleEndian, WHERE) == SUCCESS
    assert [i.data for i in w.instances] == [b"a", b"b"]


def test_an_instance_not_asked_for_is_refused_and_not_kept() -> None:
    w = waiter({A})
    assert w.take(B, b"x" * 10, ExplicitVRLittleEndian, WHERE) == NOT_AUTHORIZED
    assert w.instances == []
    assert w.budget.held == 0
    assert (w.failed, w.refused) == (0, None)


def test_a_second_copy_of_an_instance_is_refused_and_not_kept() -> None:
    w = waiter({A, B})
    assert w.take(A, b"first", ExplicitVRLittleEndian, WHERE) == SUCCESS
    assert w.take(A, b"second", ExplicitVRLittleEndian, WHERE) == NOT_AUTHORIZED
    assert [i.data for i in w.instances] == [b"first"]
    assert w.budget.held == len(b"first")


def test_a_second_copy_is_refused_even_when_any_instance_is_expected() -> None:
    w = waiter(None)
    assert w.take(A, b"first", ExplicitVRLittleEndian, WHERE) == SUCCESS
    assert w.take(A, b"again", ExplicitVRLittleEndian, WHERE) == NOT_AUTHORIZED
    assert len(w.instances) == 1


def test_past_the_budget_the_instance_is_out_of_resources_and_the_waiter_refused() -> None:
    w = waiter({A, B, C}, cap=150)
    assert w.take(A, b"x" * 100, ExplicitVRLittleEndian, WHERE) == SUCCESS
    assert w.take(B, b"y" * 100, ExplicitVRLittleEndian, WHERE) == OUT_OF_RESOURCES
    assert isinstance(w.refused, RetrieveTooLarge)
    assert "150 bytes" in str(w.refused) and WHERE in str(w.refused)
    assert w.failed == 1
    assert [i.data for i in w.instances] == [b"x" * 100]
    assert w.budget.held == 100


def test_once_refused_even_a_small_expected_instance_is_out_of_resources() -> None:
    w = waiter({A, B}, cap=150)
    assert w.take(A, b"x" * 200, ExplicitVRLittleEndian, WHERE) == OUT_OF_RESOURCES
    assert w.take(B, b"y", ExplicitVRLittleEndian, WHERE) == OUT_OF_RESOURCES
    assert w.instances == []


def test_a_process_holding_too_much_refuses_the_waiter_as_busy() -> None:
    pool = Pool(50)
    w = waiter({A}, cap=1000, pool=pool)
    assert w.take(A, b"x" * 100, ExplicitVRLittleEndian, WHERE) == OUT_OF_RESOURCES
    assert isinstance(w.refused, ServiceBusy)
    assert pool.held == 0


def test_a_deflated_instance_is_kept_inflated_and_counted_after_inflation() -> None:
    dataset = b"\x08\x00\x16\x00UI" + b"z" * 5000
    w = waiter({A}, cap=10_000)
    assert w.take(A, deflated(dataset), DeflatedExplicitVRLittleEndian, WHERE) == SUCCESS
    assert [(i.data, i.syntax) for i in w.instances] == [(dataset, ExplicitVRLittleEndian)]
    assert w.budget.held == len(dataset)


def test_a_deflated_instance_that_inflates_past_the_budget_is_out_of_resources() -> None:
    bomb = deflated(bytes(100_000))
    w = waiter({A}, cap=10_000)
    assert len(bomb) < 10_000
    assert w.take(A, bomb, DeflatedExplicitVRLittleEndian, WHERE) == OUT_OF_RESOURCES
    assert isinstance(w.refused, RetrieveTooLarge)
    assert w.instances == []


def test_a_malformed_instance_cannot_be_understood_and_counts_as_failed() -> None:
    # model.instances.received: a deflated stream that does not inflate is Malformed.
    w = waiter({A})
    assert w.take(A, b"\xff\xff\xff\xff", DeflatedExplicitVRLittleEndian, WHERE) == CANNOT_UNDERSTAND
    assert (w.failed, w.instances, w.refused) == (1, [], None)


# --- Waiter.wait_for and fail ------------------------------------------------------------------


def test_wait_for_returns_at_once_when_enough_arrived() -> None:
    w = waiter(None)
    w.take(A, b"a", ExplicitVRLittleEndian, WHERE)
    assert w.wait_for(1, time.monotonic() + PATIENCE)


def test_wait_for_returns_when_the_last_instance_arrives_from_another_thread() -> None:
    w = waiter({A, B})
    got: list[bool] = []
    waiting = threading.Thread(target=lambda: got.append(w.wait_for(2, time.monotonic() + 60)))
    waiting.start()
    w.take(A, b"a", ExplicitVRLittleEndian, WHERE)
    w.take(B, b"b", ExplicitVRLittleEndian, WHERE)
    waiting.join(PATIENCE)
    assert not waiting.is_alive(), "wait_for did not wake up when the count was reached"
    assert got == [True]


def test_wait_for_counts_failed_instances_as_arrived() -> None:
    w = waiter({A, B})
    w.take(A, b"a", ExplicitVRLittleEndian, WHERE)
    w.take(B, b"\xff\xff", DeflatedExplicitVRLittleEndian, WHERE)
    assert w.wait_for(2, time.monotonic() + PATIENCE)


def test_wait_for_is_false_at_the_deadline_when_too_few_came() -> None:
    w = waiter({A, B})
    w.take(A, b"a", ExplicitVRLittleEndian, WHERE)
    give_up = time.monotonic() + 0.05
    assert not w.wait_for(2, give_up)
    assert time.monotonic() >= give_up


def test_wait_for_a_deadline_already_past_does_not_wait() -> None:
    assert not waiter({A}).wait_for(1, time.monotonic() - 10)


def test_wait_for_ends_when_the_waiter_is_refused() -> None:
    w = waiter({A, B}, cap=10)
    got: list[bool] = []
    waiting = threading.Thread(target=lambda: got.append(w.wait_for(2, time.monotonic() + 60)))
    waiting.start()
    w.take(A, b"x" * 20, ExplicitVRLittleEndian, WHERE)
    waiting.join(PATIENCE)
    assert got == [True]
    assert isinstance(w.refused, RetrieveTooLarge)


def test_fail_stops_the_waiter_with_the_first_cause_only() -> None:
    w = waiter({A})
    first, second = ServiceBusy("first"), ServiceBusy("second")
    w.fail(first)
    w.fail(second)
    assert w.refused is first
    assert w.wait_for(1, time.monotonic() + PATIENCE)
    assert w.take(A, b"a", ExplicitVRLittleEndian, WHERE) == OUT_OF_RESOURCES


# --- Waits -------------------------------------------------------------------------------------


def test_a_waiter_is_found_by_its_message_id_while_it_waits_and_forgotten_after() -> None:
    waits = Waits()
    budget = Budget(1000)
    with waits.waiting([A], budget, "PACS") as w:
        assert waits.find(w.message_id) is w
        assert (w.expected, w.budget, w.source) == (frozenset({A}), budget, "PACS")
        assert 1 <= w.message_id <= MAX_MESSAGE_ID
        assert len(waits) == 1
    assert waits.find(w.message_id) is None
    assert len(waits) == 0


def test_a_waiter_is_forgotten_when_its_retrieval_fails() -> None:
    waits = Waits()
    with pytest.raises(RuntimeError), waits.waiting(None, Budget(1000), "PACS") as w:
        raise RuntimeError("the C-MOVE failed")
    assert waits.find(w.message_id) is None
    assert len(waits) == 0


def test_no_expected_list_means_any_instance() -> None:
    with Waits().waiting(None, Budget(1000), "PACS") as w:
        assert w.expected is None


def test_an_unknown_message_id_finds_nobody() -> None:
    waits = Waits()
    with waits.waiting(None, Budget(1000), "PACS") as w:
        assert waits.find(w.message_id + 1) is None
        assert waits.find(0) is None


def test_concurrent_waiters_get_unique_message_ids() -> None:
    waits = Waits()
    count = 32
    all_in = threading.Barrier(count, timeout=PATIENCE)
    ids: list[int] = []
    lock = threading.Lock()

    def one() -> None:
        with waits.waiting(None, Budget(1000), "PACS") as w:
            with lock:
                ids.append(w.message_id)
            all_in.wait()  # every waiter holds its ID at once

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(PATIENCE)
    assert len(ids) == count
    assert len(set(ids)) == count
    assert len(waits) == 0


def test_a_message_id_is_free_again_once_its_waiter_is_gone() -> None:
    waits = Waits()
    with ExitStack() as stack:
        held = [stack.enter_context(waits.waiting(None, Budget(1000), "PACS")) for _ in range(3)]
        assert len({w.message_id for w in held}) == 3
    assert len(waits) == 0
    with waits.waiting(None, Budget(1000), "PACS") as w:
        assert waits.find(w.message_id) is w


def test_message_ids_wrap_around_and_skip_those_still_held() -> None:
    waits = Waits()
    with waits.waiting(None, Budget(1000), "PACS") as first:
        for _ in range(MAX_MESSAGE_ID):  # a full cycle of the other IDs, each freed at once
            with waits.waiting(None, Budget(1000), "PACS") as other:
                assert other.message_id != first.message_id
        assert waits.find(first.message_id) is first


def test_message_ids_are_those_a_dicom_message_id_can_hold() -> None:
    assert MAX_MESSAGE_ID == 0xFFFF  # Message ID is a US; 0 is never handed out (find(0) is nobody)


def test_when_every_message_id_is_held_a_new_waiter_is_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(waits_module, "MAX_MESSAGE_ID", 50)  # the full 65,535 only costs time
    waits = Waits()
    with ExitStack() as stack:
        held = {stack.enter_context(waits.waiting(None, Budget(1000), "PACS")).message_id for _ in range(50)}
        assert held == set(range(1, 51))
        with pytest.raises(ServiceBusy, match="message ID"), waits.waiting(None, Budget(1000), "PACS"):
            pass
    assert len(waits) == 0
