"""The DIMSE client's operations in flight: how many, on which associations, and stopping them.

Counted from before an association is negotiated until it is settled, so the metrics and
readiness see work that has not reached the PACS yet; tracked by association, so that
`abort_all()` at shutdown can end each at once, and an operation that fails because of it says
"shutting down" rather than blaming the PACS.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from dicom_mcp.dimse.scu import Channel
from dicom_mcp.errors import PacsError
from dicom_mcp.pacs import failures as pacs_failures


class Live:
    """Operations and associations in flight, shared by the client's worker threads."""

    def __init__(self) -> None:
        self.count = 0
        self.closing = False
        self._channels: set[Channel] = set()
        self._lock = threading.Lock()

    @contextmanager
    def counted(self) -> Iterator[None]:
        """Count one operation for the block."""
        with self._lock:
            self.count += 1
        try:
            yield
        finally:
            with self._lock:
                self.count -= 1

    @contextmanager
    def on(self, channel: Channel) -> Iterator[None]:
        """Track `channel` for the block; a PacsError there after `abort_all` says "shutting down"."""
        with self._lock:
            self._channels.add(channel)
        try:
            yield
        except PacsError as exc:
            if self.closing:
                raise pacs_failures.shutting_down() from exc
            raise
        finally:
            with self._lock:
                self._channels.discard(channel)

    def abort_all(self, abort: Callable[[Channel], None]) -> int:
        """From now on the client is closing: `abort` every tracked association; return how many."""
        self.closing = True
        with self._lock:
            channels = list(self._channels)
        for channel in channels:
            abort(channel)
        return len(channels)
