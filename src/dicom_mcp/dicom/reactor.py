"""pynetdicom's DUL reactor, woken by events instead of polling every millisecond.

Each pynetdicom association runs a DUL thread that, whenever it has nothing to do, sleeps
1 ms and looks again (its own source says "TODO: make this event based"). With a dozen
associations open that is ten thousand wake-ups a second, each taking the interpreter lock
from the threads doing real work, and every message we send waits up to a millisecond to be
picked up. `install()` replaces the loop with one that blocks in `select()` on the
association's socket and on a wake-up socket, which `send_pdu`, `kill_dul` and `stop_dul`
write to. The steps of each turn are pynetdicom's own, in its order; only the wait between
turns changes. The wait is capped (`_MAX_WAIT`) so the ARTIM timer is still checked.

Installed by `patches.configure_pynetdicom`, at start-up.
"""

from __future__ import annotations

import logging
import queue
import select
import socket
import time
from contextlib import suppress
from typing import Any

from pynetdicom.dul import DULServiceProvider
from pynetdicom.pdu import A_ABORT_RQ

logger = logging.getLogger(__name__)

_MAX_WAIT = 0.02  # seconds between checks of the ARTIM timer when nothing happens
_original_send_pdu = DULServiceProvider.send_pdu
_original_kill_dul = DULServiceProvider.kill_dul


def install() -> None:
    """Make every DUL thread started from now on event-driven (idempotent)."""
    DULServiceProvider.run_reactor = _run_reactor  # type: ignore[method-assign]
    DULServiceProvider.send_pdu = _send_pdu  # type: ignore[method-assign]
    DULServiceProvider.kill_dul = _kill_dul  # type: ignore[method-assign]
    DULServiceProvider.stop_dul = _stop_dul  # type: ignore[method-assign]


def _wake(dul: DULServiceProvider) -> None:
    waker: socket.socket | None = getattr(dul, "_waker", None)
    if waker is not None:
        with suppress(OSError):  # full (a wake-up is pending anyway) or already closed
            waker.send(b"\x00")


def _send_pdu(self: DULServiceProvider, primitive: Any) -> None:
    _original_send_pdu(self, primitive)
    _wake(self)


def _kill_dul(self: DULServiceProvider) -> None:
    _original_kill_dul(self)
    _wake(self)


def _stop_dul(self: DULServiceProvider) -> bool:
    """pynetdicom's `stop_dul` (Association.kill calls it), waking the thread it waits for."""
    if self.state_machine.current_state != "Sta1":
        return False
    self._kill_thread = True
    _wake(self)
    while self.is_alive():
        time.sleep(0.001)
    return True


def _run_reactor(self: DULServiceProvider) -> None:
    """pynetdicom's `DULServiceProvider.run_reactor`, waiting in select() between turns."""
    wakeup, waker = socket.socketpair()
    wakeup.setblocking(False)
    waker.setblocking(False)
    self._waker = waker  # type: ignore[attr-defined]
    try:
        _turns(self, wakeup)
    finally:
        self._waker = None  # type: ignore[attr-defined]
        waker.close()
        wakeup.close()


def _turns(self: DULServiceProvider, wakeup: socket.socket) -> None:
    self._idle_timer.start()
    while True:
        if not self.assoc._dul_ready.is_set():
            self.assoc._dul_ready.set()
        if self._kill_thread:
            break
        if self.artim_timer.expired:
            self.event_queue.put("Evt18")
        try:
            if self._process_recv_primitive():  # a primitive to send: encode it
                pass
            elif self._is_transport_event():  # data from the peer: receive and decode a PDU
                self._idle_timer.restart()
        except Exception as exc:  # as pynetdicom does: abort, bypassing the state machine
            logger.error("DICOM upper layer failed (%s); aborting the association", type(exc).__name__)
            _abort(self)
            return
        try:
            event = self.event_queue.get(block=False)
        except queue.Empty:
            _wait(self, wakeup)
            continue
        self.state_machine.do_action(event)


def _wait(self: DULServiceProvider, wakeup: socket.socket) -> None:
    """Until the peer sends data, a primitive is queued, the thread is killed, or _MAX_WAIT."""
    if self._kill_thread or not self.to_provider_queue.empty():
        return
    watched: list[Any] = [wakeup]
    transport = self.socket
    raw = transport.socket if transport is not None and transport._is_connected else None
    if raw is not None:
        pending = getattr(raw, "pending", None)  # TLS: bytes already decrypted, invisible to select
        if pending is not None and pending():
            return
        watched.append(raw)
    try:
        ready, _, _ = select.select(watched, [], [], _MAX_WAIT)
    except (OSError, ValueError):  # the socket closed under us: let the next turn see it
        return
    if wakeup in ready:
        with suppress(OSError):
            wakeup.recv(4096)


def _abort(self: DULServiceProvider) -> None:
    abort_pdu = A_ABORT_RQ()
    abort_pdu.source = 0x02
    abort_pdu.reason_diagnostic = 0x00
    with suppress(Exception):
        if self.socket is not None:
            self.socket.send(abort_pdu.encode())
    self.assoc.is_aborted = True
    self.assoc.is_established = False
    self.assoc._kill = True
    self._kill_thread = True
