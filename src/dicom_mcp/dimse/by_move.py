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
from typing import Final

from dicom_mcp.errors import AnswerCutShort, AssociationAborted, AssociationRejected, PacsError, QueryFailed
from dicom_mcp.model.retrievals import STUDY_ROOT_GET
from dicom_mcp.model.target import Target

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
            "this service can read it by C-MOVE (README: Reading a study)"
        )
    return (
        f"{target.describe()} does not offer C-GET to this service: set DICOM_MCP_RECEIVER_PORT so that it "
        "can read by C-MOVE, and register this service's AE title at the PACS as a move destination "
        "(README: Reading a study)"
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
