"""pynetdicom, changed for the whole process: quiet logging, and a DUL reactor woken by events.

`configure_pynetdicom()` is the one function that changes pynetdicom and pydicom for the process:
start-up calls it once (`__main__`, the demo loader, the bench, the tests' conftest), before any
association opens; constructing a client changes nothing.

A failed connection's socket is closed (see `_shutdown_then_close`).

A PDU longer than `MAX_PDU_BYTES` is refused before it is read (`_bounded_recv`): pynetdicom
reads a whole PDU into memory at the length its header claims (up to 4 GiB), whatever maximum
length we proposed; the connection is then treated as closed.

Logging: pynetdicom would log identifiers (patient data) and per-message chatter; both are off.
pydicom's checks of values read off the wire are off too: they only warn, their warnings quote
the value (patient data), and they cost a regular expression per UID. Values sent are checked
by `validation.py` before any query is built.

The reactor:

Each pynetdicom association runs a DUL thread that, whenever it has nothing to do, sleeps
1 ms and looks again (its own source says "TODO: make this event based"). With a dozen
associations open that is ten thousand wake-ups a second, each taking the interpreter lock
from the threads doing real work, and every message we send waits up to a millisecond to be
picked up. `install()` replaces the loop with one that blocks in `select()` on the
association's socket and on a wake-up socket, which `send_pdu`, `kill_dul` and `stop_dul`
write to. The steps of each turn are pynetdicom's own, in its order; only the wait between
turns changes. The wait is capped (`MAX_WAIT`) so the ARTIM timer is still checked.

The methods replaced here are copies of pynetdicom 3.0.4's, changed only in how they wait. A
pynetdicom whose originals differ (by a fingerprint of their source, `fingerprints.py`) is
refused at start-up with a clear message, rather than run with a silently diverged copy.

C-STORE responses: `install()` also puts `store_rsp.py`'s writer in front of pynetdicom's
`send_msg`, which built each one as a pydicom Dataset on the path of every instance received.

P-DATA-TF PDUs: `install()` also puts `pdata.py`'s reader in place of pynetdicom's, which copied
each PDU whole four times before DIMSE saw it.

Associations peers open to us: `install()` also replaces pynetdicom's acceptor loop, which
polls every millisecond too, with `acceptor.py`'s, woken by the DUL thread after each action.

C-FIND responses: `install()` also puts `scu/responses.py`'s reader in front of pynetdicom's
`DIMSEServiceProvider.receive_primitive`, guarded by the same fingerprints.
"""

from __future__ import annotations

import logging
import queue
import select
import socket
import threading
import time
from contextlib import suppress
from typing import Any, Final

import pynetdicom
from pydicom import config as pydicom_config
from pynetdicom import _config
from pynetdicom.association import Association
from pynetdicom.dimse import DIMSEServiceProvider
from pynetdicom.dul import DULServiceProvider
from pynetdicom.pdu import A_ABORT_RQ
from pynetdicom.transport import AssociationSocket

from dicom_mcp.dimse import store_rsp
from dicom_mcp.dimse.acceptor import run_acceptor, stir
from dicom_mcp.dimse.fingerprints import ORIGINALS, diverged, qualified
from dicom_mcp.dimse.pdata import read_pdu_data
from dicom_mcp.dimse.scu import responses
from dicom_mcp.errors import PynetdicomChanged

logger = logging.getLogger(__name__)

MAX_WAIT = 0.02  # seconds between checks of the ARTIM timer when nothing happens
STOP_WAIT = 0.01  # seconds stop_dul waits for the state machine to become idle (kill()'s sleep)
# Far above the PDU lengths peers are offered (pynetdicom's 16,382 bytes) and send in practice.
MAX_PDU_BYTES: Final = 16 * 1024 * 1024
_original_send_pdu = ORIGINALS["send_pdu"]
_original_kill_dul = ORIGINALS["kill_dul"]


def configure_pynetdicom() -> None:
    """Quiet pynetdicom's logging, stop pydicom's read-side value checks, install the reactor.

    Raises:
        PynetdicomChanged: the installed pynetdicom's reactor no longer looks as expected.
    """
    pydicom_config.settings.reading_validation_mode = pydicom_config.IGNORE
    _config.LOG_REQUEST_IDENTIFIERS = False
    _config.LOG_RESPONSE_IDENTIFIERS = False
    _config.LOG_HANDLER_LEVEL = "none"
    logging.getLogger("pynetdicom").setLevel(logging.WARNING)
    # pynetdicom 3.0 skips close() when shutdown() fails, as it does on a socket whose connect()
    # was refused, and then drops its only reference inside connect(): the socket is freed
    # unclosed (a ResourceWarning). No close after associate() can reach it, so the fix is here.
    setattr(AssociationSocket, "_shutdown_socket", _shutdown_then_close)  # noqa: B010
    setattr(AssociationSocket, "recv", _bounded_recv)  # noqa: B010
    install()


def _bounded_recv(self: AssociationSocket, nr_bytes: int) -> bytearray:
    """pynetdicom's `recv`, refusing a read longer than any PDU we accept, and reading in one go.

    pynetdicom reads 4 KiB per call and appends each piece: a 512 KiB instance took 128 calls
    and as many copies. This reads straight into a buffer of the PDU's size. As pynetdicom's,
    it returns what came before the peer closed the connection (fewer bytes than asked).
    """
    if nr_bytes > MAX_PDU_BYTES + 6:
        raise OSError(f"the peer announced a PDU of {nr_bytes} bytes, more than {MAX_PDU_BYTES}")
    sock = self.socket
    assert sock is not None
    received = bytearray(nr_bytes)
    read = 0
    with memoryview(received) as view:
        while read < nr_bytes:
            count = sock.recv_into(view[read:], nr_bytes - read)
            if not count:
                break
            read += count
    if read < nr_bytes:
        del received[read:]
    return received


def _shutdown_then_close(self: AssociationSocket) -> None:
    sock = self.socket
    if sock is None:
        return
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def install() -> None:
    """Make every DUL thread started from now on event-driven (idempotent).

    Raises:
        PynetdicomChanged: see `diverged`.
    """
    changed = diverged()
    if changed:
        raise PynetdicomChanged(
            f"pynetdicom {pynetdicom.__version__} changed {', '.join(qualified(name) for name in changed)}: "
            "dicom-mcp's event-driven reactor (dimse/reactor.py) was written for pynetdicom 3.0.4. "
            "Install pynetdicom>=3.0.4,<3.1, or update dimse/ and fingerprints.py."
        )
    DULServiceProvider.run_reactor = _run_reactor  # type: ignore[method-assign]
    DULServiceProvider.send_pdu = _send_pdu  # type: ignore[method-assign]
    DULServiceProvider.kill_dul = _kill_dul  # type: ignore[method-assign]
    DULServiceProvider.stop_dul = _stop_dul  # type: ignore[method-assign]
    DIMSEServiceProvider.receive_primitive = responses.receive_primitive  # type: ignore[method-assign]
    Association._run_reactor = run_acceptor  # type: ignore[method-assign]
    DULServiceProvider._read_pdu_data = read_pdu_data  # type: ignore[method-assign]
    DIMSEServiceProvider.send_msg = store_rsp.send_msg  # type: ignore[method-assign]


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
    """pynetdicom's `stop_dul` (Association.kill calls it), waking the thread it waits for.

    pynetdicom's returns False at once unless the state machine is idle (Sta1), and kill() then
    sleeps 10 ms before asking again; but a release's last action hands over the A-RELEASE
    confirmation before the state machine moves to Sta1. So this waits up to those 10 ms for
    the move itself (`_acted`, set by the DUL thread after each action).
    """
    acted: threading.Event | None = getattr(self, "_acted", None)
    give_up = time.monotonic() + STOP_WAIT
    while self.state_machine.current_state != "Sta1":
        if acted is None or (left := give_up - time.monotonic()) <= 0:
            return False
        acted.clear()
        if self.state_machine.current_state == "Sta1":
            break
        acted.wait(left)
    self._kill_thread = True
    _wake(self)
    if threading.current_thread() is not self:
        self.join()
    return True


def _run_reactor(self: DULServiceProvider) -> None:
    """pynetdicom's `DULServiceProvider.run_reactor`, waiting in select() between turns."""
    wakeup, waker = socket.socketpair()
    wakeup.setblocking(False)
    waker.setblocking(False)
    self._waker = waker  # type: ignore[attr-defined]
    self._acted = threading.Event()  # type: ignore[attr-defined]
    try:
        _turns(self, wakeup)
    finally:
        self._waker = None  # type: ignore[attr-defined]
        waker.close()
        wakeup.close()
        stir(self, ended=True)  # an acceptor loop sees at once that its DUL thread ended


def _turns(self: DULServiceProvider, wakeup: socket.socket) -> None:
    """pynetdicom's loop, except that the socket is looked at (a select() of its own in
    pynetdicom's `ready`) only when the last wait did not already find it quiet: data that
    arrives after that wait ends the next one at once."""
    self._idle_timer.start()
    readable = True  # the socket may have data: no wait has looked, or the last one saw some
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
            elif (readable or self.state_machine.current_state == "Sta13") and self._is_transport_event():
                self._idle_timer.restart()  # data from the peer: a PDU was received and decoded
        except Exception as exc:  # as pynetdicom does: abort, bypassing the state machine
            logger.error("DICOM upper layer failed (%s); aborting the association", type(exc).__name__)
            _abort(self)
            return
        try:
            event = self.event_queue.get(block=False)
        except queue.Empty:
            readable = _wait(self, wakeup)
            continue
        self.state_machine.do_action(event)
        self._acted.set()  # type: ignore[attr-defined]
        stir(self)  # what the action delivered (a message, a release, an abort) is served now


def _wait(self: DULServiceProvider, wakeup: socket.socket) -> bool:
    """Until the peer sends data, a primitive is queued, the thread is killed, or MAX_WAIT.

    Returns False if it found the socket without data (True: with data, or not looked at).
    """
    if self._kill_thread or not self.to_provider_queue.empty():
        return True
    watched: list[Any] = [wakeup]
    transport = self.socket
    raw = transport.socket if transport is not None and transport._is_connected else None
    if raw is not None:
        pending = getattr(raw, "pending", None)  # TLS: bytes already decrypted, invisible to select
        if pending is not None and pending():
            return True
        watched.append(raw)
    try:
        ready, _, _ = select.select(watched, [], [], MAX_WAIT)
    except (OSError, ValueError):  # the socket closed under us: let the next turn see it
        return True
    if wakeup in ready:
        with suppress(OSError):
            wakeup.recv(4096)
    return raw is None or raw in ready


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
