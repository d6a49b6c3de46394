"""Probing one PACS for `dicom-mcp check`: what it offers this service, reading no patient data.

One association proposes every service the service uses (verification, C-FIND in the Patient
Root and the Study Root models, C-GET and C-MOVE in the Study Root model); on it, in turn:

    C-ECHO   its round trip
    C-FIND   each level of each root, asking for a Patient ID no one has (`NOBODY`) or for UIDs
             made up for this run, returning only the level's unique keys and keeping nothing:
             with a limit of 0, a PACS that matched anyway is cancelled at its first match,
             which is dropped unread
    C-MOVE   (with a receiver) of a study no one has, to the receiver's AE title. A PACS that
             checks the destination first answers 0xA801 when it does not know it; others look
             for the study first (dcmqrscp answers Success, Orthanc 0xC000), so whether the PACS
             can reach the receiver shows only when something is sent, which the check never does
    C-GET    of that study, without any storage context, so nothing could come back. A PACS
             that does not serve C-GET refuses its presentation context (dcmqrscp --disable-get),
             refuses the request (0x0122, 0x0124) or aborts (Orthanc): last, because of the abort

Every wait is bounded by `timeout` seconds. Blocking: run `probe` in a worker thread.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Final, Literal

from dicom_mcp.dimse import scu
from dicom_mcp.dimse.by_move import REFUSALS
from dicom_mcp.dimse.failures import describe_status
from dicom_mcp.dimse.scu import Channel
from dicom_mcp.errors import (
    AssociationAborted,
    AssociationRejected,
    DicomError,
    PacsError,
    PacsTimeout,
    QueryFailed,
)
from dicom_mcp.model.levels import WIRE_LEVEL, Level
from dicom_mcp.model.queries import PATIENT_ROOT_FIND, STUDY_ROOT_FIND, Query
from dicom_mcp.model.retrievals import STUDY_ROOT_GET, STUDY_ROOT_MOVE, Keys
from dicom_mcp.model.target import Target
from dicom_mcp.pacs.budget import Budget

NOBODY: Final = "DICOM-MCP-CHECK-NOBODY"  # a Patient ID no one has (and easy to find in a PACS log)
MOVE_DESTINATION_UNKNOWN: Final = 0xA801
ROOTS: Final = {"patient": PATIENT_ROOT_FIND, "study": STUDY_ROOT_FIND}
LEVELS: Final = {
    "patient": (Level.PATIENT, Level.STUDY, Level.SERIES, Level.INSTANCE),
    "study": (Level.STUDY, Level.SERIES, Level.INSTANCE),
}
SERVICES: Final = {
    scu.VERIFICATION: "C-ECHO",
    PATIENT_ROOT_FIND: "C-FIND (Patient Root)",
    STUDY_ROOT_FIND: "C-FIND (Study Root)",
    STUDY_ROOT_GET: "C-GET (Study Root)",
    STUDY_ROOT_MOVE: "C-MOVE (Study Root)",
}

Outcome = Literal["answered", "not offered", "refused", "failed", "no answer", "not tried"]


@dataclass(frozen=True)
class Step:
    """How one step went, in words that name the cause and never carry patient data.

    "answered": the PACS answered (a C-FIND of nothing found nothing, a C-GET or C-MOVE of nothing
    got a final status that is no refusal); "refused": rejected, refused or aborted on purpose.
    """

    outcome: Outcome
    words: str = ""
    millis: float | None = None
    status: int | None = None  # the final DIMSE status, where one came

    @property
    def answered(self) -> bool:
        return self.outcome == "answered"


@dataclass
class DimseProbe:
    """What one PACS showed; `move` is None when there is no receiver to move to."""

    association: Step
    offered: tuple[str, ...] = ()  # the services whose presentation contexts the PACS accepted
    echo: Step = field(default_factory=lambda: Step("not tried"))
    finds: dict[tuple[str, Level], Step] = field(default_factory=dict)  # (root, level)
    move: Step | None = None
    get: Step = field(default_factory=lambda: Step("not tried"))


@dataclass(frozen=True)
class _Rooted(Query):
    """A C-FIND in the model `root`, whatever its level (`Query` picks the one the service uses)."""

    root: str = STUDY_ROOT_FIND

    @property
    def model(self) -> str:
        return self.root


def no_one(root: str, level: Level, study: str, series: str) -> Query:
    """A C-FIND of `level` in `root` ("patient" or "study") that matches nothing."""
    matching = [("PatientID", NOBODY)] if root == "patient" or level is Level.STUDY else []
    if level in (Level.SERIES, Level.INSTANCE):
        matching.append(("StudyInstanceUID", study))
    if level is Level.INSTANCE:
        matching.append(("SeriesInstanceUID", series))
    return _Rooted(level, tuple(matching), (), root=ROOTS[root])


def made_up_uid() -> str:
    """A UID no PACS holds: 2.25 and a random UUID (PS3.5 B.2)."""
    return f"2.25.{uuid.uuid4().int}"


def probe(target: Target, calling_ae: str, timeout: float, move_to: str | None) -> DimseProbe:
    """Associate with `target` as `calling_ae` and try each service on it (see the module docstring).

    `move_to`: the receiver's AE title, or None when there is no receiver.
    """
    ae = scu.build_ae(calling_ae, connect=timeout, acse=timeout, dimse=timeout, network=timeout)
    contexts = [*ae.requested_contexts, *scu.get_contexts([])[0], *scu.move_contexts()]
    started = time.perf_counter()
    try:
        channel = _associate(ae, target, timeout, contexts)
    except DicomError as exc:  # PacsError, or TlsSetupError
        return DimseProbe(_not_associated(exc, timeout, target.tls))
    accepted = Step("answered", f"accepted for the calling AE title {calling_ae}", _since(started))
    offered = tuple(sorted({str(c.abstract_syntax) for c in channel.assoc.accepted_contexts}))
    result = DimseProbe(accepted, offered)
    steps = _Steps(channel, target, timeout, offered)
    try:
        result.echo = steps.run(scu.VERIFICATION, steps.echo)
        for root, levels in LEVELS.items():
            for level in levels:
                result.finds[(root, level)] = steps.run(ROOTS[root], partial(steps.find, root, level))
        if move_to is not None:
            result.move = steps.run(STUDY_ROOT_MOVE, partial(steps.move, move_to))
        result.get = steps.run(STUDY_ROOT_GET, steps.get)
    finally:
        scu.close(channel, graceful=steps.clean)
    return result


def _associate(ae: Any, target: Target, timeout: float, contexts: list[Any]) -> Channel:
    """An association, asked for a second time after an abort during negotiation.

    dcmqrscp rejects an association and closes the connection with some of the request unread,
    so its kernel resets the connection, and the reset may discard the A-ASSOCIATE-RJ before
    pynetdicom reads it: a rejection seen as an abort (about one attempt in a hundred here, more
    under load). A second attempt mostly gets the rejection; a real abort aborts again.
    """
    try:
        return scu.associate(ae, target, time.monotonic() + timeout, contexts)
    except AssociationAborted:
        return scu.associate(ae, target, time.monotonic() + timeout, contexts)


class _Steps:
    """The steps on one association; after one that leaves it unusable, the rest are not tried."""

    def __init__(self, channel: Channel, target: Target, timeout: float, offered: tuple[str, ...]) -> None:
        self._channel, self._target, self._timeout, self._offered = channel, target, timeout, offered
        self._lost: str | None = None
        self._message_id = 1
        self._study, self._series = made_up_uid(), made_up_uid()

    def run(self, service: str, exchange: Callable[[float], Step]) -> Step:
        """One step: `exchange(give_up)`, timed, its failures put into words."""
        if self._lost is not None:
            return Step("not tried", self._lost)
        if service not in self._offered:
            return Step(
                "not offered", f"the PACS did not accept the {SERVICES[service]} presentation context"
            )
        started = time.perf_counter()
        try:
            step = exchange(time.monotonic() + self._timeout)
        except PacsTimeout:
            self._lost = f"not tried: an earlier {SERVICES[service]} went unanswered"
            step = Step("no answer", f"no answer within {self._timeout:g} s")
        except AssociationAborted as exc:
            self._lost = f"not tried: the association ended during {SERVICES[service]}"
            step = Step("failed", str(exc))
        except QueryFailed as exc:
            step = Step("failed", str(exc), status=exc.status)
        except PacsError as exc:
            step = Step("failed", str(exc))
        if not scu.usable(self._channel) and self._lost is None:
            self._lost = f"not tried: the association ended after {SERVICES[service]}"
        return Step(step.outcome, step.words, _since(started), step.status)

    @property
    def clean(self) -> bool:
        """Whether the association may be released (else aborted: an answer may still be on its way)."""
        return self._lost is None and scu.usable(self._channel)

    def _next_id(self) -> int:
        self._message_id += 1
        return self._message_id

    def echo(self, give_up: float) -> Step:
        scu.echo(self._channel, self._target, give_up, self._timeout)
        return Step("answered", "Success")

    def find(self, root: str, level: Level, give_up: float) -> Step:
        query = no_one(root, level, self._study, self._series)
        found = scu.find(self._channel, self._target, query, 0, give_up, self._timeout, self._next_id())
        if found.truncated:
            return Step(
                "answered", f"{WIRE_LEVEL[level]}: a key no one has matched something (dropped unread)"
            )
        return Step("answered", f"{WIRE_LEVEL[level]}: answered, no match")

    def move(self, destination: str, give_up: float) -> Step:
        keys = Keys(self._study)
        try:
            moved = scu.move(self._channel, self._target, keys, destination, give_up, self._timeout)
        except QueryFailed as exc:
            if exc.status == MOVE_DESTINATION_UNKNOWN:
                return Step(
                    "refused",
                    f"the PACS does not know the move destination {destination} (status 0xA801): register "
                    "this AE title at the PACS with the receiver's host and DICOM_MCP_RECEIVER_PORT",
                    status=exc.status,
                )
            return Step("answered", _nothing_answer("C-MOVE", exc.status), status=exc.status)
        return Step("answered", _nothing_answer("C-MOVE", moved.status), status=moved.status)

    def get(self, give_up: float) -> Step:
        try:
            scu.get(self._channel, self._target, Keys(self._study), give_up, self._timeout, Budget(1 << 16))
        except QueryFailed as exc:
            if exc.status in REFUSALS:
                words = f"the PACS refused a C-GET of nothing with status 0x{exc.status:04X} ({describe_status(exc.status)})"
                return Step("refused", words, status=exc.status)
            return Step("answered", _nothing_answer("C-GET", exc.status), status=exc.status)
        except AssociationAborted as exc:  # Orthanc's way of saying C-GET is not for this AE title
            self._lost = "not tried: the association ended during C-GET"
            words = f"{exc}, a C-GET of a study no one has: so answers a PACS that serves no C-GET to this AE title"
            return Step("refused", words)
        return Step("answered", _nothing_answer("C-GET", 0))


def _nothing_answer(operation: str, status: int) -> str:
    meaning = "Success" if status == 0 else describe_status(status)
    return f"answered a {operation} of a study no one has with status 0x{status:04X} ({meaning})"


def _not_associated(exc: DicomError, timeout: float, target_tls: object) -> Step:
    if isinstance(exc, AssociationRejected):
        return Step("refused", str(exc))
    if isinstance(exc, AssociationAborted) and target_tls is None:
        words = f"{exc} (a PACS that refuses an AE title and drops the connection at once looks so too: check the AE titles)"
        return Step("failed", words)
    if isinstance(exc, PacsTimeout):
        words = f"no answer within {timeout:g} s to the association request (the TCP connection was taken)"
        return Step("no answer", words)
    return Step("failed", str(exc))


def _since(started: float) -> float:
    """Milliseconds since `started` (a `time.perf_counter()` value), to 0.01 ms."""
    return round((time.perf_counter() - started) * 1000, 2)
