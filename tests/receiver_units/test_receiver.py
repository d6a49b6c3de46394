"""The receiver on the network: a Storage SCP on loopback that pynetdicom C-STOREs to, as a PACS would.

It accepts associations only from the configured PACS' addresses, and keeps only what a
retrieval waits for: the C-STORE must name a waiting C-MOVE's Message ID, an originator that is
the service (or the moving PACS itself), and a SOP Instance UID that retrieval asked for.
Everything else is refused and counted by reason, and nothing of it is kept.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from dicom_mcp.dimse.receiver import Receiver, addresses_of
from dicom_mcp.dimse.waits import NOT_AUTHORIZED, OUT_OF_RESOURCES, SUCCESS
from dicom_mcp.errors import RetrieveTooLarge
from dicom_mcp.pacs.budget import Budget
from tests.receiver_units.peers import LOOPBACK, PACS_AE, SERVICE_AE, Sent, ct, store, wire_bytes
from tests.servers import stop_promptly

MAX_BYTES = 1 << 20


def running(allowed: frozenset[str] = frozenset({LOOPBACK})) -> Iterator[Receiver]:
    receiver = Receiver(SERVICE_AE, LOOPBACK, 0, allowed, MAX_BYTES)
    receiver.start()
    try:
        yield receiver
    finally:
        stop_promptly(receiver)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from running()


@pytest.fixture
def fenced() -> Iterator[Receiver]:
    """A receiver that accepts associations from one documentation address only (RFC 5737)."""
    yield from running(frozenset({"192.0.2.1"}))


def test_it_listens_on_a_free_port_when_asked_for_port_0(receiver: Receiver) -> None:
    assert receiver.port > 0
    assert store(receiver.port, []) == []


def test_an_association_from_an_address_no_pacs_has_is_refused_and_counted(fenced: Receiver) -> None:
    assert store(fenced.port, [Sent(ct(), SERVICE_AE, 1)]) is None
    assert fenced.refusals == {"host": 1}


def test_a_receiver_bound_to_every_ipv6_address_accepts_an_allowed_ipv4_pacs() -> None:
    # On a dual-stack socket an IPv4 peer's address reads "::ffff:127.0.0.1"; it is still 127.0.0.1.
    receiver = Receiver(SERVICE_AE, "::", 0, frozenset({LOOPBACK}), MAX_BYTES)
    receiver.start()
    try:
        assert store(receiver.port, []) == []
        assert receiver.refusals == {}
    finally:
        receiver.stop()


def test_a_c_store_nobody_waits_for_is_refused_counted_and_not_kept(receiver: Receiver) -> None:
    assert store(receiver.port, [Sent(ct(), SERVICE_AE, 1)]) == [NOT_AUTHORIZED]
    assert receiver.refusals == {"not awaited": 1}
    assert len(receiver.waits) == 0


def test_a_c_store_without_a_move_originator_is_refused(receiver: Receiver) -> None:
    with receiver.waits.waiting(None, Budget(MAX_BYTES), PACS_AE) as waiter:
        assert store(receiver.port, [Sent(ct())]) == [NOT_AUTHORIZED]
        assert waiter.instances == []
    assert receiver.refusals == {"not awaited": 1}


def test_a_c_store_without_a_move_originator_goes_to_the_one_retrieval_that_asked_for_it(
    receiver: Receiver,
) -> None:
    # The Move Originator fields are optional in PS3.7: the SOP Instance UID alone then decides.
    instance = ct()
    with receiver.waits.waiting([str(instance.SOPInstanceUID)], Budget(MAX_BYTES), PACS_AE) as waiter:
        assert store(receiver.port, [Sent(instance)]) == [SUCCESS]
        assert [i.data for i in waiter.instances] == [wire_bytes(instance)]
    assert receiver.refusals == {}


def test_a_c_store_without_a_move_originator_that_two_retrievals_asked_for_is_refused(
    receiver: Receiver,
) -> None:
    instance = ct()
    wanted = [str(instance.SOPInstanceUID)]
    with (
        receiver.waits.waiting(wanted, Budget(MAX_BYTES), PACS_AE) as first,
        receiver.waits.waiting(wanted, Budget(MAX_BYTES), PACS_AE) as second,
    ):
        assert store(receiver.port, [Sent(instance)]) == [NOT_AUTHORIZED]
        assert first.instances == second.instances == []
    assert receiver.refusals == {"not awaited": 1}


@pytest.mark.parametrize("originator", [SERVICE_AE, PACS_AE], ids=["ours", "the moving PACS's"])
def test_the_instance_a_retrieval_waits_for_is_kept_byte_for_byte(
    receiver: Receiver, originator: str
) -> None:
    ds = ct(payload=4000)
    with receiver.waits.waiting([ds.SOPInstanceUID], Budget(MAX_BYTES), PACS_AE) as waiter:
        assert store(receiver.port, [Sent(ds, originator, waiter.message_id)]) == [SUCCESS]
        assert [(i.data, i.syntax) for i in waiter.instances] == [(wire_bytes(ds), ExplicitVRLittleEndian)]
    assert receiver.refusals == {}


def test_several_instances_of_one_move_arrive_on_one_association(receiver: Receiver) -> None:
    sent = [ct() for _ in range(3)]
    with receiver.waits.waiting([ds.SOPInstanceUID for ds in sent], Budget(MAX_BYTES), PACS_AE) as waiter:
        statuses = store(receiver.port, [Sent(ds, SERVICE_AE, waiter.message_id) for ds in sent])
        assert statuses == [SUCCESS] * 3
        assert [i.data for i in waiter.instances] == [wire_bytes(ds) for ds in sent]


def test_a_c_store_under_another_message_id_is_refused(receiver: Receiver) -> None:
    ds = ct()
    with receiver.waits.waiting([ds.SOPInstanceUID], Budget(MAX_BYTES), PACS_AE) as waiter:
        assert store(receiver.port, [Sent(ds, SERVICE_AE, waiter.message_id + 1)]) == [NOT_AUTHORIZED]
        assert waiter.instances == []
    assert receiver.refusals == {"not awaited": 1}


def test_a_c_store_for_another_move_originator_is_refused(receiver: Receiver) -> None:
    ds = ct()
    with receiver.waits.waiting([ds.SOPInstanceUID], Budget(MAX_BYTES), PACS_AE) as waiter:
        assert store(receiver.port, [Sent(ds, "SOMEONEELSE", waiter.message_id)]) == [NOT_AUTHORIZED]
        assert waiter.instances == []
    assert receiver.refusals == {"not awaited": 1}


def test_an_instance_the_retrieval_did_not_ask_for_is_refused_as_not_asked_for(receiver: Receiver) -> None:
    asked, other = ct(), ct()
    with receiver.waits.waiting([asked.SOPInstanceUID], Budget(MAX_BYTES), PACS_AE) as waiter:
        statuses = store(
            receiver.port,
            [Sent(other, SERVICE_AE, waiter.message_id), Sent(asked, SERVICE_AE, waiter.message_id)],
        )
        assert statuses == [NOT_AUTHORIZED, SUCCESS]
        assert [i.data for i in waiter.instances] == [wire_bytes(asked)]
    assert receiver.refusals == {"not asked for": 1}


def test_a_second_copy_is_refused_as_not_asked_for(receiver: Receiver) -> None:
    ds = ct()
    with receiver.waits.waiting([ds.SOPInstanceUID], Budget(MAX_BYTES), PACS_AE) as waiter:
        sends = [Sent(ds, SERVICE_AE, waiter.message_id)] * 2
        assert store(receiver.port, sends) == [SUCCESS, NOT_AUTHORIZED]
        assert len(waiter.instances) == 1
    assert receiver.refusals == {"not asked for": 1}


def test_concurrent_retrievals_each_get_their_own_instances(receiver: Receiver) -> None:
    first, second = ct(), ct()
    budget = Budget(MAX_BYTES)
    with (
        receiver.waits.waiting([first.SOPInstanceUID], budget, PACS_AE) as one,
        receiver.waits.waiting([second.SOPInstanceUID], budget, PACS_AE) as other,
    ):
        statuses = store(
            receiver.port,
            [
                Sent(second, SERVICE_AE, other.message_id),
                Sent(first, SERVICE_AE, other.message_id),  # under the wrong retrieval
                Sent(first, SERVICE_AE, one.message_id),
            ],
        )
        assert statuses == [SUCCESS, NOT_AUTHORIZED, SUCCESS]
        assert [i.data for i in one.instances] == [wire_bytes(first)]
        assert [i.data for i in other.instances] == [wire_bytes(second)]


def test_an_instance_past_the_budget_is_out_of_resources_and_refuses_the_retrieval(
    receiver: Receiver,
) -> None:
    ds = ct(payload=5000)
    with receiver.waits.waiting([ds.SOPInstanceUID], Budget(1000), PACS_AE) as waiter:
        assert store(receiver.port, [Sent(ds, SERVICE_AE, waiter.message_id)]) == [OUT_OF_RESOURCES]
        assert waiter.instances == []
        assert isinstance(waiter.refused, RetrieveTooLarge)


def test_an_instance_larger_than_the_per_call_cap_refuses_the_retrieval_as_too_large(
    receiver: Receiver,
) -> None:
    # The receiver stops reading a message past MAX_BYTES (and aborts the association); the
    # retrieval it was for must learn why, or its C-MOVE ends as a PACS failure (0xA702, 0xC000).
    ds = ct(payload=2 * MAX_BYTES)
    with receiver.waits.waiting([ds.SOPInstanceUID], Budget(4 * MAX_BYTES), PACS_AE) as waiter:
        assert store(receiver.port, [Sent(ds, SERVICE_AE, waiter.message_id)]) in (None, [-1])
        assert waiter.instances == []
        assert waiter.wait_for(1, time.monotonic() + 3), "the retrieval was not told"
        assert isinstance(waiter.refused, RetrieveTooLarge)


def test_a_retrieval_that_ended_takes_nothing_more(receiver: Receiver) -> None:
    ds = ct()
    with receiver.waits.waiting([ds.SOPInstanceUID], Budget(MAX_BYTES), PACS_AE) as waiter:
        pass
    assert store(receiver.port, [Sent(ds, SERVICE_AE, waiter.message_id)]) == [NOT_AUTHORIZED]
    assert waiter.instances == []
    assert receiver.refusals == {"not awaited": 1}


def test_refusals_are_counted_by_reason_across_associations(fenced: Receiver, receiver: Receiver) -> None:
    store(fenced.port, [Sent(ct(), SERVICE_AE, 1)])
    store(fenced.port, [Sent(ct(), SERVICE_AE, 1)])
    store(receiver.port, [Sent(ct(), SERVICE_AE, 9)] * 2)
    assert fenced.refusals == {"host": 2}
    assert receiver.refusals == {"not awaited": 2}


def test_stop_closes_the_port(receiver: Receiver) -> None:
    port = receiver.port
    stop_promptly(receiver)
    assert store(port, [Sent(ct(), SERVICE_AE, 1)]) is None


def test_addresses_of_resolves_names_and_keeps_literals() -> None:
    assert addresses_of(["127.0.0.1", "192.0.2.7"]) == {"127.0.0.1", "192.0.2.7"}
    assert "127.0.0.1" in addresses_of(["localhost"])


def test_addresses_of_skips_a_name_that_does_not_resolve() -> None:
    assert addresses_of([f"{generate_uid(prefix=None)[:20]}.invalid", "127.0.0.1"]) == {"127.0.0.1"}
