"""Which way a PACS is read (C-GET, or C-MOVE to the receiver), and what "auto" has learnt.

A node's `retrieve` says: "get" (C-GET only), "move" (C-MOVE to this service's receiver only)
or "auto" (C-GET; where the PACS refuses it, C-MOVE). A PACS refuses C-GET by not accepting its
presentation context, by a refusal status, or by aborting the association before any instance
came (Orthanc, when C-GET is not allowed to the caller). "auto" then reads that node by C-MOVE
for the next REMEMBER_SECONDS, without asking for C-GET first.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Final

from dicom_mcp.dimse import scu
from dicom_mcp.dimse.receiver import Receiver
from dicom_mcp.dimse.scu import Channel
from dicom_mcp.dimse.waits import Waiter
from dicom_mcp.errors import (
    AnswerCutShort,
    AssociationAborted,
    AssociationRejected,
    GetNotOffered,
    PacsError,
    PacsTimeout,
    QueryFailed,
)
from dicom_mcp.model.instances import Instance
from dicom_mcp.model.retrievals import STUDY_ROOT_GET, Keys
from dicom_mcp.model.target import Target
from dicom_mcp.pacs.backend import Moved

REMEMBER_SECONDS: Final = 600.0
# C-GET final statuses that mean "not for you": SOP class not supported, not authorized.
REFUSALS: Final = frozenset({0x0122, 0x0124})


def refuses_get(exc: PacsError) -> bool:
    """Whether a failed C-GET says the PACS does not offer C-GET to us (rather than failing one)."""
    if isinstance(exc, AssociationRejected):
        return STUDY_ROOT_GET in str(exc)  # the C-GET presentation context was not accepted
    if isinstance(exc, QueryFailed):
        return exc.status in REFUSALS
    return isinstance(exc, AssociationAborted) and not isinstance(exc, AnswerCutShort)


def not_offered(target: Target, cause: PacsError | None = None) -> str:
    """What an operator must do to read a PACS that refuses C-GET (said in the tool's error).

    An abort is not proof (a PACS may also fail): its own message comes first.
    """
    if isinstance(cause, AssociationAborted):
        return (
            f"{cause}; a PACS that does not offer C-GET may answer so: set DICOM_MCP_RECEIVER_PORT so that "
            "this service can read it by C-MOVE (docs/users/reading.md: PACS without C-GET)"
        )
    return (
        f"{target.describe()} does not offer C-GET to this service: set DICOM_MCP_RECEIVER_PORT so that it "
        "can read by C-MOVE, and register this service's AE title at the PACS as a move destination "
        "(docs/users/reading.md: PACS without C-GET)"
    )


def unreached(target: Target, receiver_ae: str, exc: QueryFailed) -> str:
    """A C-MOVE to the receiver failed before anything arrived: most often the PACS cannot reach it."""
    return (
        f"{exc}: {target.describe()} sent nothing to this service's receiver; check that the PACS knows the "
        f"AE title {receiver_ae} at the receiver's host and DICOM_MCP_RECEIVER_PORT, and can connect to it"
    )


class Modes:
    """How each target is read right now."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def by_move(self, target: Target) -> bool:
        if target.retrieve != "auto":
            return target.retrieve == "move"
        with self._lock:
            return self._until.get(target.key, 0.0) > time.monotonic()

    def learnt_get_refused(self, target: Target) -> None:
        with self._lock:
            self._until[target.key] = time.monotonic() + REMEMBER_SECONDS


def check_fallback(target: Target, exc: PacsError, receiver: Receiver | None) -> None:
    """Return if a C-GET that failed with `exc` may be done again by C-MOVE to `receiver`; else raise.

    Raises:
        PacsError: `exc` itself (the node is read by C-GET only, or `exc` is no refusal of C-GET).
        GetNotOffered: C-GET is refused, and there is no receiver, or it would refuse this PACS.
    """
    if target.retrieve == "get" or not refuses_get(exc):
        raise exc
    if receiver is None:
        raise GetNotOffered(not_offered(target, exc)) from exc
    if not receiver.accepts(target.host):
        raise GetNotOffered(
            f"{target.describe()} does not offer C-GET, and the receiver accepts C-STOREs only from "
            "the PACS the operator named: name this one in the nodes file to read it by C-MOVE"
        ) from exc


def read_by_move(
    one_off: Callable[[Callable[[Channel], Moved], Any], Moved],
    receiver: Receiver,
    dimse_timeout: float,
    target: Target,
    keys: Keys,
    waiter: Waiter,
    give_up: float,
) -> list[Instance]:
    """One C-MOVE of `keys` to the receiver, on an association `one_off` opens; what `waiter` took.

    Blocking. Ends when the final response has come and the instances it reports sent have arrived
    (or a header-only read has its header), within `give_up`. For a frame read, an instance too
    large for the budget arrives with only its frames (`receiver_reader.py`); the C-MOVE goes on.
    """
    to = receiver.ae_title

    def exchange(channel: Channel) -> Moved:
        # The budget ran out, or a header-only read has its header: cancel.
        stop = lambda: waiter.refused is not None or waiter.stopped  # noqa: E731
        return scu.move(channel, target, keys, to, give_up, dimse_timeout, None, waiter.message_id, stop)

    with receiver.collecting(waiter):
        try:
            moved = one_off(exchange, scu.move_contexts())
        except PacsError as exc:
            if waiter.refused is not None:  # the C-MOVE failed because we refused what it sent
                raise waiter.refused from None
            if waiter.stopped:  # we cut its C-STORE at the pixel data: the PACS counts that failed
                return list(waiter.instances)
            if isinstance(exc, QueryFailed) and not waiter.instances:
                raise QueryFailed(unreached(target, to, exc), exc.status) from exc
            raise
        sent = moved.completed + moved.warning
        arrived = waiter.wait_for(sent, give_up)
    if waiter.refused is not None:
        raise waiter.refused
    if not arrived and not waiter.stopped:
        raise PacsTimeout(
            f"{target.describe()} said it sent {sent} instance(s) to the receiver, and "
            f"{len(waiter.instances)} arrived within the query deadline"
        )
    return list(waiter.instances)
