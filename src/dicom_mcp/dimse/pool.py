"""Idle associations kept for reuse, never more of them open than a PACS allows.

Opening and releasing an association costs more than a small C-FIND itself (two extra round
trips, two pynetdicom threads, ~5 ms of CPU), so the client keeps associations that ended
cleanly and hands them to the next operation on the same PACS. The pool is generic over the
connection type, so this module needs no pynetdicom: the client passes in how to check and
close one connection.

Bounds: every connection this pool knows of (in use, idle, being opened or being closed)
counts against `capacity`, the PACS's association limit, so a PACS never sees more. Each
connection is reused only for `lifetime` seconds after it opened, then closed, in use or idle
(a reaper thread, running only while some are idle, closes idle ones). The short lifetime
matters: many PACS (Orthanc among them) serve each association on one of a few worker threads
for as long as it stays open, so a connection kept longer would hold a worker that another
association, ours or another client's, is waiting for.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from dicom_mcp.errors import PoolTimeout

C = TypeVar("C")


@dataclass
class Lease(Generic[C]):
    """A connection lent to one operation; `reused` says it served earlier operations."""

    conn: C
    opened: float
    uses: int = 0

    @property
    def reused(self) -> bool:
        return self.uses > 0


class Pool(Generic[C]):
    """Connections to one PACS: lend an idle one, or open one if the limit allows."""

    def __init__(
        self,
        capacity: int,
        lifetime: float,
        usable: Callable[[C], bool],
        close: Callable[[C, bool], None],
    ) -> None:
        self._capacity = capacity
        self._lifetime = lifetime
        self._usable = usable
        self._close = close  # close(conn, graceful): release if graceful, else abort
        self._cond = threading.Condition()
        self._idle: list[Lease[C]] = []  # most recently used last
        self._counted = 0  # in use + idle + opening + closing
        self._reaping = False

    @property
    def idle(self) -> int:
        """Connections open but lent to nobody."""
        return len(self._idle)

    def acquire(self, open_: Callable[[], C], give_up: float, *, reuse: bool = True) -> Lease[C]:
        """Lend an idle connection (if `reuse`), else open one within the limit; wait until `give_up`.

        Raises:
            PoolTimeout: no slot came free in time.
        """
        while True:
            stale: list[C] = []
            found: Lease[C] | None = None
            with self._cond:
                while reuse and self._idle and found is None:
                    lease = self._idle.pop()
                    if self._usable(lease.conn):
                        found = lease
                    else:
                        stale.append(lease.conn)
                if found is None and not stale:
                    if self._counted < self._capacity:
                        self._counted += 1
                        break
                    if self._idle:
                        stale.append(self._idle.pop(0).conn)  # make room: the oldest idle one goes
                    elif not self._cond.wait(max(give_up - time.monotonic(), 0.0)):
                        raise PoolTimeout("no association slot came free in time")
            self._close_all(stale)  # outside the lock: a release takes a round trip
            if found is not None:
                return found
        try:
            return Lease(open_(), time.monotonic())
        except BaseException:
            self._forget(1)
            raise

    def give_back(self, lease: Lease[C]) -> None:
        """Keep a connection whose last operation ended cleanly for the next one, if it is young enough."""
        if time.monotonic() - lease.opened >= self._lifetime:
            self.discard(lease, graceful=True, wait=False)
            return
        with self._cond:
            self._idle.append(Lease(lease.conn, lease.opened, lease.uses + 1))
            self._cond.notify_all()
            if not self._reaping:
                self._reaping = True
                threading.Thread(target=self._reap, name="dicom-pool-reaper", daemon=True).start()

    def discard(self, lease: Lease[C], *, graceful: bool, wait: bool = True) -> None:
        """Close a connection that must not be reused (released if `graceful`, else aborted).

        With `wait=False` it is closed in a thread of its own: the operation's answer need not
        wait for the release's round trip. It still counts against the capacity until it is
        closed.
        """
        if not wait:
            threading.Thread(
                target=self._close_all, args=([lease.conn],), name="dicom-release", daemon=True
            ).start()
            return
        try:
            self._close(lease.conn, graceful)
        finally:
            self._forget(1)

    def close(self) -> None:
        """Release every idle connection now."""
        with self._cond:
            idle, self._idle = self._idle, []
        self._close_all([entry.conn for entry in idle])

    def _close_all(self, conns: list[C]) -> None:
        for conn in conns:
            self._close_one(conn, True)

    def _close_one(self, conn: C, graceful: bool) -> None:
        try:
            self._close(conn, graceful)
        finally:
            self._forget(1)

    def _forget(self, count: int) -> None:
        with self._cond:
            self._counted -= count
            self._cond.notify_all()

    def _reap(self) -> None:
        """Close idle connections at the end of their lifetime; exit when none is idle."""
        while True:
            with self._cond:
                now = time.monotonic()
                expired = [lease for lease in self._idle if now - lease.opened >= self._lifetime]
                self._idle = [lease for lease in self._idle if now - lease.opened < self._lifetime]
                if not expired:
                    if not self._idle:
                        self._reaping = False
                        return
                    self._cond.wait(min(lease.opened for lease in self._idle) + self._lifetime - now)
                    continue
            self._close_all([entry.conn for entry in expired])
