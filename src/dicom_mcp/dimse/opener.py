"""Opening and closing the client's associations, each holding a shared slot when replicas share them.

With `slots` (`slots.py`), an association takes one of its PACS's slots before it opens and gives
it back once it is closed, whichever path closes it (the pool, a one-off exchange, a failed
negotiation). Without, opening and closing are scu/association.py's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from dicom_mcp.dimse import scu
from dicom_mcp.dimse.scu import Channel
from dicom_mcp.model.target import Target
from dicom_mcp.pacs.slots import Slots, take_slot


class Opener:
    """Associations to any PACS from one AE; `limit(target)` is that PACS's association limit."""

    def __init__(self, ae: Any, slots: Slots | None, limit: Callable[[Target], int]) -> None:
        self._ae = ae
        self._slots = slots
        self._limit = limit
        self._lock = threading.Lock()
        self._slot_of: dict[Channel, str] = {}  # the shared slot each association holds

    def open(self, target: Target, give_up: float, contexts: Any = None, roles: Any = ()) -> Channel:
        """Associate (see scu.associate), after taking a shared slot when replicas share them."""
        if self._slots is None:
            return scu.associate(self._ae, target, give_up, contexts, roles)
        token = take_slot(self._slots, target, self._limit(target), give_up)
        try:
            channel = scu.associate(self._ae, target, give_up, contexts, roles)
        except BaseException:
            self._slots.give(token)
            raise
        with self._lock:
            self._slot_of[channel] = token
        return channel

    def close(self, channel: Channel, graceful: bool) -> None:
        """Release (if `graceful`) or abort an association, then free its shared slot."""
        try:
            scu.close(channel, graceful)
        finally:
            with self._lock:
                token = self._slot_of.pop(channel, None)
            if token is not None and self._slots is not None:
                self._slots.give(token)
