"""pynetdicom's acceptor loop, woken by its DUL thread instead of polling every millisecond.

An association a peer opens to us (the receiver, the sample PACS) runs pynetdicom's
`Association._run_reactor`, which sleeps 1 ms between looks at its DIMSE message queue and at
the release and abort indications. A PACS sends a series one C-STORE at a time and waits for
each response, so every instance waited up to a millisecond before it was served: 2,000
instances lost two seconds that way, and the polls took the interpreter lock from the threads
doing real work.

`run_acceptor` is that loop, changed only in how it waits between turns: on an event that the
association's DUL thread sets after a state-machine action that delivered something to the
association (`stir`, called by `reactor.py`): a DIMSE message, a release request, an abort.
The wait is capped (`MAX_WAIT`) so that a DUL thread that ended and the idle timer are still
noticed. The rest is pynetdicom 3.0.4's own, in its order; `reactor.install()`
puts it in place after checking the original's fingerprint.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Final

from pynetdicom import evt
from pynetdicom.association import Association

MAX_WAIT: Final = 0.02  # seconds between turns when nothing happens (a dead DUL, the idle timer)

logger = logging.getLogger(__name__)


def stir(dul: Any, *, ended: bool = False) -> None:
    """Wake the acceptor loop of `dul`'s association, if it runs one and has something to serve
    (a DIMSE message, or a release or abort indication), or if the DUL thread `ended`."""
    stirred: threading.Event | None = getattr(dul.assoc, "_stirred", None)
    if stirred is None:
        return
    if ended or not dul.assoc.dimse.msg_queue.empty() or not dul.to_user_queue.empty():
        stirred.set()


def run_acceptor(self: Association) -> None:
    """pynetdicom's `Association._run_reactor`, waiting for its DUL thread between turns."""
    stirred = threading.Event()
    self._stirred = stirred  # type: ignore[attr-defined]
    self._is_paused = False
    while not self._kill:
        # Cleared before looking, so that anything delivered from here on wakes the next wait.
        stirred.clear()
        # The checkpoint lets an acceptor's own send_*() calls pause the loop (pynetdicom's note).
        self._is_paused = True
        self._reactor_checkpoint.wait()
        self._is_paused = False

        context_id, msg = self.dimse.get_msg(block=False)
        if msg:
            self._serve_request(msg, int(context_id or 0))
            continue  # another message may already be queued: look before waiting

        if self.is_established and self.acse.is_release_requested():
            self.acse.send_release(is_response=True)
            self.is_released = True
            self.is_established = False
            evt.trigger(self, evt.EVT_RELEASED, {})
            self.kill()
            return

        if self.acse.is_aborted():
            self.dul.receive_pdu(wait=False)  # so that EVT_ACSE_RECV fires for subscribers
            self.is_aborted = True
            self.is_established = False
            evt.trigger(self, evt.EVT_ABORTED, {})
            self.kill()
            return

        if not self.dul.is_alive():
            self.kill()
            return

        if self.dul.idle_timer_expired():
            logger.warning("DICOM association idle past its network timeout; ending it")
            if self.network_timeout_response == "A-RELEASE":
                self._is_paused = True
                self._reactor_checkpoint.wait()
                self.release()
                self._is_paused = False
            else:
                self.abort()
            self.kill()
            return

        stirred.wait(MAX_WAIT)
