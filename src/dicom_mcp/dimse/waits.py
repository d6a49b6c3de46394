"""Retrievals waiting for the instances a C-MOVE sends to the receiver, and what each has taken.

A retrieval (`Waiter`) knows the SOP Instance UIDs it asked for, the byte budget of its call and
the AE title of the PACS moving; the instances the receiver hands it are checked against those
and kept as encoded bytes, in memory. `Waits` gives each retrieval in flight a C-MOVE Message ID
of its own (across replicas too, when a relay claims each in Redis): the PACS copies it into every
C-STORE it sends, and the receiver finds the retrieval by it.

A frame read (`frames`: render_image, viewer_frames) takes an instance too large for its budget
with only those frames (`scu/frames.py`, through the receiver's reader); the instance's
`frames_kept` says which.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Final

from pydicom.uid import DeflatedExplicitVRLittleEndian

from dicom_mcp.dimse.scu.responses import Cut
from dicom_mcp.dimse.scu.retrieve import header_instance
from dicom_mcp.errors import DicomError, DicomMcpError, ServiceBusy, StoreError
from dicom_mcp.model.instances import FramesKept, Instance, Malformed, received
from dicom_mcp.pacs.budget import Budget
from dicom_mcp.state.moves import MoveRelay

logger = logging.getLogger(__name__)

SUCCESS: Final = 0x0000
NOT_AUTHORIZED: Final = 0x0124  # Refused: Not Authorized
OUT_OF_RESOURCES: Final = 0xA700
CANNOT_UNDERSTAND: Final = 0xC000
MAX_MESSAGE_ID: Final = 0xFFFF
MAX_CLAIMS: Final = 64  # Message IDs tried before giving up, when other replicas hold them
PULL_SECONDS: Final = 0.5  # how long one wait for a forwarded instance lasts
STOPPED_BY_ABORT: Final = (
    "stopped at the pixel data (the PACS's C-STORE association to the receiver was aborted)"
)


@dataclass
class Waiter:
    """One retrieval waiting for its instances: what it expects, what came, and why it stopped."""

    message_id: int
    expected: frozenset[str] | None  # SOP Instance UIDs; None: any instance the C-MOVE sends
    budget: Budget
    source: str  # the AE title of the PACS moving (some, pynetdicom's among them, name themselves
    # as the Move Originator instead of the AE that asked)
    header_only: bool = False  # an instance too large for the budget is taken up to its pixel data
    frames: tuple[int, ...] | None = None  # such an instance is taken with only these frames
    instances: list[Instance] = field(default_factory=list)
    failed: int = 0
    refused: DicomMcpError | None = None  # past the budget (or a failed hand-off): cancel the C-MOVE
    stopped: bool = False  # an instance was taken up to its pixel data: nothing more is wanted
    _seen: set[str] = field(default_factory=set)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def take(self, sop_uid: str, data: bytes, syntax: str, where: str, kept: FramesKept | None = None) -> int:
        """Keep one instance the PACS sent (or say why not); the C-STORE status to answer.

        `kept`: the instance was read frame by frame, and holds only those frames."""
        with self._changed:
            try:
                if (self.expected is not None and sop_uid not in self.expected) or sop_uid in self._seen:
                    return NOT_AUTHORIZED
                if self.refused is not None:
                    return OUT_OF_RESOURCES
                try:
                    if syntax != DeflatedExplicitVRLittleEndian:
                        self.budget.take(len(data), where)
                    instance = received(data, syntax, lambda size: self.budget.take(size, where))
                    self.instances.append(instance if kept is None else replace(instance, frames_kept=kept))
                except Malformed:
                    self.failed += 1
                    return CANNOT_UNDERSTAND
                except DicomError as exc:  # past the call's budget, or the process's
                    self.refused, self.failed = exc, self.failed + 1
                    return OUT_OF_RESOURCES
                self._seen.add(sop_uid)
                return SUCCESS
            finally:
                self._changed.notify_all()

    def take_header(self, sop_uid: str, cut: Cut, syntax: str, where: str) -> bool:
        """Keep the header of an instance cut at its pixel data (or say why not: False)."""
        with self._changed:
            try:
                wanted = self.expected is None or sop_uid in self.expected
                if not wanted or sop_uid in self._seen or self.refused is not None:
                    return False
                try:
                    self.instances.append(
                        header_instance(
                            cut, syntax, lambda size: self.budget.take(size, where), STOPPED_BY_ABORT
                        )
                    )
                except DicomError as exc:
                    self.refused = exc
                    return False
                self._seen.add(sop_uid)
                self.stopped = True
                return True
            finally:
                self._changed.notify_all()

    def fail_one(self) -> None:
        with self._changed:
            self.failed += 1
            self._changed.notify_all()

    def fail(self, exc: DicomMcpError) -> None:
        """Stop the retrieval with `exc` (the hand-off between replicas, or a frame read, failed)."""
        with self._changed:
            self.refused = self.refused or exc
            self._changed.notify_all()

    def wait_for(self, count: int, give_up: float) -> bool:
        """Wait until `count` instances arrived or failed (or it was refused); False at `give_up`."""
        with self._changed:
            return self._changed.wait_for(
                lambda: self.refused is not None or len(self.instances) + self.failed >= count,
                timeout=max(0.0, give_up - time.monotonic()),
            )


class Waits:
    """The retrievals in flight, by the Message ID of their C-MOVE (unique among them, and across
    replicas when a relay claims each ID in Redis)."""

    def __init__(self, relay: MoveRelay | None = None) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[int, Waiter] = {}
        self._ids = itertools.cycle(range(1, MAX_MESSAGE_ID + 1))
        self._relay = relay

    @contextmanager
    def waiting(
        self,
        expected: Iterable[str] | None,
        budget: Budget,
        source: str,
        header_only: bool = False,
        frames: tuple[int, ...] | None = None,
    ) -> Iterator[Waiter]:
        """A Waiter with a Message ID of its own, forgotten on the way out."""
        wanted = None if expected is None else sorted(expected)
        for _ in range(MAX_CLAIMS):
            with self._lock:
                if len(self._waiting) >= MAX_MESSAGE_ID:
                    raise ServiceBusy("every C-MOVE message ID is in use; try again shortly")
                message_id = next(i for i in self._ids if i not in self._waiting)
                waiter = Waiter(
                    message_id,
                    None if wanted is None else frozenset(wanted),
                    budget,
                    source,
                    header_only,
                    frames,
                )
                self._waiting[message_id] = waiter
            try:
                claimed = self._relay is None or self._relay.claim(message_id, wanted, budget.cap, source)
            except BaseException:
                with self._lock:
                    self._waiting.pop(message_id, None)
                raise
            if claimed:
                break
            with self._lock:  # another replica's retrieval holds this ID: try the next
                self._waiting.pop(message_id, None)
        else:
            raise ServiceBusy("no free C-MOVE message ID among the replicas; try again shortly")
        try:
            yield waiter
        finally:
            with self._lock:
                self._waiting.pop(message_id, None)
            if self._relay is not None:
                try:
                    self._relay.release(message_id)
                except StoreError:  # its keys expire by themselves; the retrieval's own outcome stands
                    logger.warning("receiver: a finished C-MOVE could not be forgotten in Redis; it expires")

    def find(self, message_id: int) -> Waiter | None:
        with self._lock:
            return self._waiting.get(message_id)

    def expecting(self, sop_uid: str) -> Waiter | None:
        """The one retrieval that asked for `sop_uid`, for a C-STORE that does not say whose it is;
        None when none or several did."""
        with self._lock:
            found = [w for w in self._waiting.values() if w.expected is not None and sop_uid in w.expected]
        return found[0] if len(found) == 1 else None

    def __len__(self) -> int:
        with self._lock:
            return len(self._waiting)
