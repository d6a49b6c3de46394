"""The event-driven DUL reactor and acceptor loop on their own: refused when pynetdicom diverges,
prompt when they run, idle when nothing happens."""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Iterator

import pynetdicom.association
import pytest
from pynetdicom import AE
from pynetdicom.association import Association
from pynetdicom.dimse import DIMSEServiceProvider
from pynetdicom.dul import DULServiceProvider
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]
from pynetdicom.transport import AssociationSocket

from dicom_mcp.dimse import acceptor, fingerprints, reactor
from dicom_mcp.dimse.scu import responses
from dicom_mcp.errors import ConfigurationError
from testbeds.faults import stop_server


@pytest.fixture(scope="module")
def echo_scp() -> Iterator[int]:
    """A C-ECHO SCP on a free loopback port."""
    ae = AE(ae_title="ECHOSCP")
    ae.add_supported_context(Verification)
    server = ae.start_server(("127.0.0.1", 0), block=False)
    try:
        yield server.server_address[1]
    finally:
        stop_server(server)  # not at its accept loop's next half-second poll


def test_pynetdicom_as_installed_matches_the_fingerprints() -> None:
    assert reactor.diverged() == []


def test_a_changed_method_is_named() -> None:
    def run_reactor(self: object) -> None:  # a pynetdicom that changed its loop
        pass

    methods = {**fingerprints.ORIGINALS, "run_reactor": run_reactor}
    assert fingerprints.diverged(methods) == ["run_reactor"]
    assert fingerprints.diverged({}) == list(fingerprints.EXPECTED_SOURCES)


def test_a_diverged_pynetdicom_is_refused_at_start_up_with_what_to_do(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(reactor, "diverged", lambda methods=None: ["run_reactor", "decode_msg"])
    with pytest.raises(ConfigurationError) as refused:
        reactor.install()
    message = str(refused.value)
    assert "DULServiceProvider.run_reactor, DIMSEMessage.decode_msg" in message
    assert "pynetdicom>=3.0.4,<3.1" in message


def test_install_is_idempotent_and_replaces_the_polling_loop() -> None:
    reactor.install()
    reactor.install()
    assert DULServiceProvider.run_reactor.__module__ == reactor.__name__
    assert DULServiceProvider.stop_dul.__module__ == reactor.__name__
    assert DIMSEServiceProvider.receive_primitive.__module__ == responses.__name__


def test_associations_run_echo_and_release_promptly_with_the_reactor(echo_scp: int) -> None:
    reactor.configure_pynetdicom()
    ae = AE(ae_title="REACTORTEST")
    ae.add_requested_context(Verification)
    timings, threads = [], []
    for _ in range(5):
        started = time.perf_counter()
        assoc = ae.associate("127.0.0.1", echo_scp)
        assert assoc.is_established
        assert assoc.send_c_echo().Status == 0x0000
        assoc.release()
        timings.append(time.perf_counter() - started)
        threads.append(assoc.dul)
    # pynetdicom's own loop waits up to 1 ms per turn; the release used to wait on a 50 ms poll.
    assert max(timings) < 1.0, timings
    deadline = time.monotonic() + 2
    while any(thread.is_alive() for thread in threads):
        assert time.monotonic() < deadline, "a DUL thread outlived its released association"
        time.sleep(0.01)


def test_an_idle_association_does_not_spin(echo_scp: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Waiting in select(): an idle DUL thread wakes every 20 ms at most, not every millisecond."""
    reactor.configure_pynetdicom()
    waits: list[threading.Thread] = []

    class CountingSelect:
        @staticmethod
        def select(*args: object) -> object:
            waits.append(threading.current_thread())
            return select.select(*args)  # type: ignore[call-overload]

    monkeypatch.setattr(reactor, "select", CountingSelect)
    ae = AE(ae_title="REACTORTEST")
    ae.add_requested_context(Verification)
    assoc = ae.associate("127.0.0.1", echo_scp)
    assert assoc.is_established
    try:
        waits.clear()
        time.sleep(0.5)  # the scenario: half a second of nothing
        idle_turns = sum(thread is assoc.dul for thread in waits)
    finally:
        assoc.release()
    # pynetdicom's own loop would turn about 500 times; ours about 0.5 / MAX_WAIT = 25.
    assert 0 < idle_turns <= 0.5 / reactor.MAX_WAIT * 1.5, idle_turns


def test_install_replaces_the_acceptor_loop_too() -> None:
    reactor.install()
    assert Association._run_reactor is acceptor.run_acceptor


def test_a_pdu_is_read_whole_and_a_closed_peer_gives_what_came(monkeypatch: pytest.MonkeyPatch) -> None:
    """One PDU of 1 MiB arrives as the bytes sent; a peer that closes early leaves what it sent."""
    ours, theirs = socket.socketpair()
    payload = bytes(range(256)) * 4096
    sender = threading.Thread(target=lambda: (theirs.sendall(payload[:700_000]), theirs.close()))
    transport = AssociationSocket.__new__(AssociationSocket)
    transport.socket = ours
    try:
        sender.start()
        assert reactor._bounded_recv(transport, 500_000) == payload[:500_000]
        assert reactor._bounded_recv(transport, 500_000) == payload[500_000:700_000]
    finally:
        sender.join()
        ours.close()
    with pytest.raises(OSError, match="announced a PDU"):
        reactor._bounded_recv(transport, reactor.MAX_PDU_BYTES + 7)


def test_a_release_does_not_wait_on_pynetdicoms_10_ms_poll(
    echo_scp: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kill() after a release asks stop_dul again every 10 ms; stop_dul now waits for the state change."""
    reactor.configure_pynetdicom()
    slept: list[float] = []
    real_sleep = time.sleep

    def recording_sleep(seconds: float) -> None:
        if threading.current_thread() is threading.main_thread():
            slept.append(seconds)
        real_sleep(seconds)

    monkeypatch.setattr(pynetdicom.association.time, "sleep", recording_sleep)
    ae = AE(ae_title="REACTORTEST")
    ae.add_requested_context(Verification)
    for _ in range(20):
        assoc = ae.associate("127.0.0.1", echo_scp)
        assert assoc.is_established
        assoc.release()
        assert assoc.is_released and not assoc.dul.is_alive()
    assert 0.01 not in slept, slept


def test_an_idle_acceptor_does_not_spin(echo_scp: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both ends' association loops (pynetdicom runs one on the requestor's side too) wait for
    their DUL thread between turns, not a 1 ms sleep."""
    reactor.configure_pynetdicom()
    turns: list[threading.Thread] = []
    get_msg = DIMSEServiceProvider.get_msg

    def counting_get_msg(self: DIMSEServiceProvider, block: bool = False) -> object:
        turns.append(threading.current_thread())
        return get_msg(self, block)

    monkeypatch.setattr(DIMSEServiceProvider, "get_msg", counting_get_msg)
    ae = AE(ae_title="REACTORTEST")
    ae.add_requested_context(Verification)
    assoc = ae.associate("127.0.0.1", echo_scp)
    assert assoc.is_established
    try:
        assert assoc.send_c_echo().Status == 0x0000  # served at once, with the acceptor loop waiting
        turns.clear()
        time.sleep(0.5)  # the scenario: half a second of nothing
        by_side = {side: sum(t.name.startswith(side) for t in turns) for side in ("Acceptor", "Requestor")}
        assert assoc.send_c_echo().Status == 0x0000
    finally:
        assoc.release()
    # pynetdicom's own loop would turn about 500 times on each side; ours about 0.5 / MAX_WAIT = 25.
    for side, idle_turns in by_side.items():
        assert 0 < idle_turns <= 0.5 / acceptor.MAX_WAIT * 1.5, (side, idle_turns)
