"""C-GET (instances into memory) and C-MOVE (a study or series to a destination AE) over a Channel.

C-GET: the PACS sends each instance back on the same association as a C-STORE, which we accept
in the SCP role negotiated for its SOP class. One presentation context is proposed per (SOP
class, transfer syntax) pair, uncompressed and the common compressed syntaxes alike, so that a
PACS that cannot transcode still finds a context for what it stores (measured against Orthanc:
one context listing five syntaxes gets one accepted, and compressed instances then fail).
Received instances stay in memory, never on disk, as encoded bytes (`instances.py`): each is
counted against the call's byte budget before it is kept, deflated ones piece by piece as they
inflate, and a message still arriving is counted as its fragments come (`responses.py`), so a
PACS that sends more than the budget is stopped before it is held.

A header-only C-GET (get_instance_metadata) takes an instance too large for the budget only up to
its top-level pixel data (`responses.py` cuts it there and aborts the association): the C-GET
ends at once, and the instance is the dataset without its pixel data (`PixelsLeft` says
what was left). Smaller instances, and those without pixel data, are taken as any other.

A frame read (render_image, viewer_frames: `frames`) takes such an instance with only the frames
asked for (`frames.py`): the C-GET goes on, and the instance's `frames_kept` says which.
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from io import BytesIO
from typing import Any, Final

from pydicom.uid import (
    JPEG2000,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)
from pynetdicom import build_context, build_role
from pynetdicom.dimse_primitives import C_GET, C_MOVE, C_STORE
from pynetdicom.pdu_primitives import SCP_SCU_RoleSelectionNegotiation
from pynetdicom.presentation import PresentationContext

from dicom_mcp.dimse import failures
from dicom_mcp.dimse.identifiers import encode_keys
from dicom_mcp.dimse.scu.association import Channel
from dicom_mcp.dimse.scu.exchange import check_response, context_for, next_message, next_response, syntax_of
from dicom_mcp.dimse.scu.frames import GetFrames, kept
from dicom_mcp.dimse.scu.responses import Cut
from dicom_mcp.errors import DicomError, NotRenderable, PacsError
from dicom_mcp.model.framepick import PastRoom
from dicom_mcp.model.instances import Instance, Malformed, PixelsLeft, received
from dicom_mcp.model.retrievals import STUDY_ROOT_GET, STUDY_ROOT_MOVE, Keys
from dicom_mcp.model.target import Target
from dicom_mcp.pacs.backend import Moved
from dicom_mcp.pacs.budget import Budget, too_large

STORED_SYNTAXES: Final = (
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    JPEG2000Lossless,
    JPEG2000,
    RLELossless,
)
UNCOMPRESSED: Final = (ExplicitVRLittleEndian, ImplicitVRLittleEndian)
# DICOM allows 128 presentation contexts per association; one goes to the C-GET model.
MAX_SOP_CLASSES: Final = 127 // len(STORED_SYNTAXES)
_OUT_OF_RESOURCES: Final = 0xA702
_CANNOT_UNDERSTAND: Final = 0xC000
# Bytes of a DIMSE message's command set and PDV headers beyond its dataset, allowed past the budget.
COMMAND_SLACK: Final = 64 * 1024


@dataclass
class Retrieved:
    """Instances received by one C-GET, as encoded bytes, in memory."""

    instances: list[Instance] = field(default_factory=list)
    failed: int = 0
    warning: int = 0
    refused: DicomError | None = None  # why the C-GET was cancelled (the budget), if it was
    stopped: bool = False  # a header-only C-GET stopped at an instance's pixel data (and aborted)


STOPPED_BY_ABORT: Final = "stopped at the pixel data (the C-GET's association was aborted)"
FRAMES_BY_GET: Final = (
    "read frame by frame from the C-GET's C-STORE (the instance is larger than the byte cap)"
)


class _Headers:
    """A header-only C-GET's reader (`responses.HeaderOnly`): an instance may be taken whole while
    the budget lasts; one stopped at its pixel data goes to the C-GET's own queue."""

    def __init__(self, messages: queue.Queue[Any], budget: Budget, sop_uid: str | None) -> None:
        self._messages, self._budget, self._sop_uid = messages, budget, sop_uid

    def room(self, command: Any) -> int | None:
        if self._sop_uid is not None and sop_uid_of(command) != self._sop_uid:
            return None  # not the instance asked for: taken whole or refused, as any other
        return self._budget.remaining

    def cut(self, cut: Cut) -> None:
        self._messages.put((cut.context_id, cut))


def header_instance(cut: Cut, syntax: str, take: Callable[[int], None], how: str) -> Instance:
    """The instance of a C-STORE cut at its pixel data: the dataset before it, counted with `take`."""
    take(len(cut.data))
    pixels = cut.pixels
    left = PixelsLeft(how, sop_uid_of(cut.command), pixels.keyword, pixels.vr, pixels.length)
    return Instance(cut.data, syntax, left)


def sop_uid_of(command: Any) -> str:
    """The Affected SOP Instance UID of a C-STORE-RQ's command set."""
    return str(getattr(command, "AffectedSOPInstanceUID", "") or "")


def get_contexts(
    sop_classes: Sequence[str],
) -> tuple[list[PresentationContext], list[SCP_SCU_RoleSelectionNegotiation]]:
    """The presentation contexts and SCP roles a C-GET association proposes for `sop_classes`.

    Up to MAX_SOP_CLASSES classes get a context for every stored syntax; more classes (a guess
    at an instance whose class the PACS would not say) get the two uncompressed ones.
    """
    classes = list(dict.fromkeys(sop_classes))
    syntaxes = STORED_SYNTAXES if len(classes) <= MAX_SOP_CLASSES else UNCOMPRESSED
    classes = classes[: 127 // len(syntaxes)]
    contexts = [build_context(STUDY_ROOT_GET)]
    contexts += [build_context(sop, syntax) for sop in classes for syntax in syntaxes]
    return contexts, [build_role(sop, scp_role=True) for sop in classes]


def move_contexts() -> list[PresentationContext]:
    return [build_context(STUDY_ROOT_MOVE, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])]


def get(
    channel: Channel,
    target: Target,
    keys: Keys,
    give_up: float,
    dimse_timeout: float,
    budget: Budget,
    header_only: bool = False,
    frames: tuple[int, ...] | None = None,
) -> Retrieved:
    """One C-GET; every instance the PACS sends is kept, as bytes, while `budget` lasts.

    With `header_only`, an instance too large for the budget is kept up to its pixel data, and
    the C-GET ends there (`stopped`; its association was aborted). With `frames`, such an
    instance is kept with those frames only (its `frames_kept` says which).

    Raises:
        RetrieveTooLarge: the instances passed the call's budget (the C-GET was cancelled).
        ServiceBusy: the process holds too much for other calls (the C-GET was cancelled).
    """
    assoc = channel.assoc
    context_id, syntax = context_for(assoc, STUDY_ROOT_GET, target)
    request = C_GET()
    request.MessageID, request.AffectedSOPClassUID, request.Priority = 1, STUDY_ROOT_GET, 2
    request.Identifier = BytesIO(encode_keys(keys, syntax))
    assoc.dimse.byte_limit = lambda: budget.remaining + COMMAND_SLACK  # type: ignore[attr-defined]
    if frames:
        reader = GetFrames(assoc.dimse.msg_queue, budget, keys.instance, frames)
        assoc.dimse.header_only = reader  # type: ignore[attr-defined]
    elif header_only:
        assoc.dimse.header_only = _Headers(assoc.dimse.msg_queue, budget, keys.instance)  # type: ignore[attr-defined]
    assoc.dimse.send_msg(request, context_id)
    got = Retrieved()
    while True:
        try:
            store_context, message = next_message(
                assoc, target, give_up, dimse_timeout, first=not got.instances
            )
        except PacsError:
            if getattr(assoc.dimse, "over_limit", False):  # responses.py stopped a message mid-way
                raise too_large(target.describe(), budget.cap) from None
            raise
        if isinstance(message, C_STORE):
            _store(channel, store_context, message, got, budget, (context_id, target.describe()))
            continue
        if isinstance(message, PastRoom):  # a frame read's frames would not fit (frames.py)
            raise too_large(target.describe(), budget.cap)
        if isinstance(message, ValueError):  # framepick.Unpickable: its message names the cause
            raise NotRenderable(str(message))
        if isinstance(message, Cut):  # the instance asked for, up to its pixel data (responses.py)
            stored = syntax_of(assoc, store_context) or ExplicitVRLittleEndian
            take = lambda size: budget.take(size, target.describe())  # noqa: E731
            got.instances.append(header_instance(message, stored, take, STOPPED_BY_ABORT))
            got.stopped = True
            return got
        response, status = check_response(message, target, C_GET, 1)
        if status in failures.PENDING:
            continue
        got.failed = int(response.NumberOfFailedSuboperations or 0)
        got.warning = int(response.NumberOfWarningSuboperations or 0)
        if got.refused is not None:
            raise got.refused
        failures.check_retrieve_status("C-GET", status, partial_ok=bool(got.instances))
        return got


def _store(
    channel: Channel, context_id: int, request: C_STORE, got: Retrieved, budget: Budget, get: tuple[int, str]
) -> None:
    """Answer one C-STORE of a C-GET: keep the instance, or refuse it once past the budget."""
    assoc = channel.assoc
    data = request.DataSet.getvalue() if request.DataSet is not None else b""
    status = 0x0000
    if got.refused is not None:
        status = _OUT_OF_RESOURCES
    else:
        syntax = syntax_of(assoc, context_id) or ExplicitVRLittleEndian
        get_context, where = get
        try:
            if syntax != DeflatedExplicitVRLittleEndian:
                budget.take(len(data), where)
            instance = received(data, syntax, lambda size: budget.take(size, where))
            if (picked := kept(request, FRAMES_BY_GET)) is not None:
                instance = replace(instance, frames_kept=picked)
            got.instances.append(instance)
        except Malformed:
            status = _CANNOT_UNDERSTAND
        except DicomError as exc:  # past the call's budget, or the process's
            got.refused, status = exc, _OUT_OF_RESOURCES
            assoc.send_c_cancel(1, context_id=get_context)
    response = C_STORE()
    response.MessageIDBeingRespondedTo = request.MessageID
    response.AffectedSOPClassUID = request.AffectedSOPClassUID
    response.AffectedSOPInstanceUID = request.AffectedSOPInstanceUID
    response.Status = status
    assoc.dimse.send_msg(response, context_id)


def move(
    channel: Channel,
    target: Target,
    keys: Keys,
    destination_ae: str,
    give_up: float,
    dimse_timeout: float,
    progress: Callable[[int, int], None] | None = None,
    message_id: int = 1,
    stop: Callable[[], bool] | None = None,
) -> Moved:
    """One C-MOVE of `keys` to `destination_ae`; `progress(done, total)` on each pending response.

    `message_id` is the C-MOVE's Message ID, which the PACS copies into each C-STORE it sends (the
    receiver finds its retrieval by it); once `stop()` says so, the C-MOVE is cancelled.
    """
    assoc = channel.assoc
    context_id, syntax = context_for(assoc, STUDY_ROOT_MOVE, target)
    request = C_MOVE()
    request.MessageID, request.AffectedSOPClassUID, request.Priority = message_id, STUDY_ROOT_MOVE, 2
    request.MoveDestination = destination_ae
    request.Identifier = BytesIO(encode_keys(keys, syntax))
    assoc.dimse.send_msg(request, context_id)
    first, cancelled = True, False
    while True:
        response, status = next_response(assoc, target, give_up, dimse_timeout, C_MOVE, message_id, first)
        first = False
        counts = [
            int(getattr(response, f"Number{kind}Suboperations") or 0)
            for kind in ("OfCompleted", "OfFailed", "OfWarning", "OfRemaining")
        ]
        completed, failed, warning, remaining = counts
        if status in failures.PENDING:
            if progress is not None:
                progress(completed + failed + warning, completed + failed + warning + remaining)
            if stop is not None and not cancelled and stop():
                assoc.send_c_cancel(message_id, context_id=context_id)
                cancelled = True
            continue
        if cancelled:  # the caller stopped it, and says why
            return Moved(completed, failed, warning, status)
        failures.check_retrieve_status("C-MOVE", status, partial_ok=completed > 0)
        return Moved(completed, failed, warning, status)
