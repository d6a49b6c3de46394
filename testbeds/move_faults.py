"""A PACS without C-GET whose C-MOVE misbehaves in one chosen way: an in-process pynetdicom SCP.

Real servers move what they are asked to, where they are told; this one can send an instance
nobody asked for, forge one under another C-MOVE's Message ID, report success and send nothing,
send to the wrong address, or never answer. It answers the instance look-up a read makes first
(C-FIND at IMAGE level: the UID asked for, a CT instance of a fixed study and series) and C-MOVE
(study and patient root); it offers no C-GET. `foreign_stores` is a Storage SCU nobody asked for.

Sub-operations go out through pynetdicom's own C-MOVE SCP, so the responses count them as a PACS
would. pynetdicom writes its *own* AE title as the Move Originator of each C-STORE (PS3.7 wants
the AE title of whoever asked for the C-MOVE), so this PACS takes `originator` as its AE title:
the mover's, for a well-behaved C-STORE. Each C-STORE's response status (what the receiver said)
is noted in `FakeMovePacs.answers`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian
from pynetdicom import AE, build_context, evt
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    CTImageStorage,
    PatientRootQueryRetrieveInformationModelFind,
    PatientRootQueryRetrieveInformationModelMove,
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelMove,
    Verification,
)

from testbeds.faults import FAULT_SERIES_UID, FAULT_STUDY_UID, instance_found, stop_server
from testbeds.store import Destination

GENUINE, FORGED = "GENUINE", "FORGED"  # the Patient ID of what the PACS holds, and of a forgery
PENDING = 0xFF00
HANG_LIMIT = 120.0  # how long a hanging C-MOVE waits for the bed's teardown at most

# A C-MOVE handler, given the request and the PACS, yields what pynetdicom's C-MOVE SCP expects:
# the destination (address, port, associate() arguments), the number of sub-operations, then
# (status, instance) pairs; between two yields it may change what the next C-STORE carries.
MoveHandler = Callable[[evt.Event, "FakeMovePacs"], Iterator[Any]]


@dataclass
class FakeMovePacs:
    """A running fake PACS: where to reach it, and what the receiver answered to each C-STORE."""

    host: str
    port: int
    ae_title: str
    destination: Destination  # the one move destination it knows: the mover's receiver
    answers: list[tuple[str, int]] = field(default_factory=list)  # (SOP Instance UID, status)
    moves: int = 0
    release: threading.Event = field(default_factory=threading.Event)

    def where(self, destination: Destination | None = None) -> tuple[str, int, dict[str, Any]]:
        """The first yield of a handler: send to `destination` (by default, the mover's receiver)."""
        to = destination or self.destination
        contexts = [build_context(CTImageStorage, ExplicitVRLittleEndian)]

        def on_response(event: evt.Event) -> None:
            message = event.message
            if type(message).__name__ == "C_STORE_RSP":
                command = message.command_set
                self.answers.append((str(command.AffectedSOPInstanceUID), int(command.Status)))

        return to.host, to.port, {"contexts": contexts, "evt_handlers": [(evt.EVT_DIMSE_RECV, on_response)]}


def ct(sop_uid: str, patient_id: str = GENUINE) -> Dataset:
    """A small CT instance of the fixed study and series; the Patient ID tells copies apart."""
    ds = Dataset()
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = sop_uid
    ds.StudyInstanceUID, ds.SeriesInstanceUID = FAULT_STUDY_UID, FAULT_SERIES_UID
    ds.PatientID = patient_id
    ds.Modality = "CT"
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return ds


def asked(event: evt.Event) -> str:
    return str(event.identifier.SOPInstanceUID)


def sends_also(*extra_uids: str) -> MoveHandler:
    """Send the instance asked for, then instances nobody asked for (under the right Message ID)."""

    def handler(event: evt.Event, pacs: FakeMovePacs) -> Iterator[Any]:
        yield pacs.where()
        yield 1 + len(extra_uids)
        for uid in (asked(event), *extra_uids):
            yield PENDING, ct(uid)

    return handler


def forges_first(event: evt.Event, pacs: FakeMovePacs) -> Iterator[Any]:
    """Send a forged copy of the instance under another Message ID, then the genuine one."""
    yield pacs.where()
    yield 2
    genuine_id = int(event.request.MessageID or 0)
    # pynetdicom reads the request's Message ID when it sends each C-STORE, after each yield.
    event.request.MessageID = (genuine_id % 0xFFFF) + 1
    yield PENDING, ct(asked(event), FORGED)
    event.request.MessageID = genuine_id
    yield PENDING, ct(asked(event))


def sends_nothing(event: evt.Event, pacs: FakeMovePacs) -> Iterator[Any]:
    """Answer Success with no sub-operation: its C-MOVE finds nothing that its C-FIND found."""
    yield pacs.where()
    yield 0


def sends_to(elsewhere: Destination) -> MoveHandler:
    """Send the instance to another address (a wrong host table entry) and report it completed."""

    def handler(event: evt.Event, pacs: FakeMovePacs) -> Iterator[Any]:
        yield pacs.where(elsewhere)
        yield 1
        yield PENDING, ct(asked(event))

    return handler


def never_answers(event: evt.Event, pacs: FakeMovePacs) -> Iterator[Any]:
    """Take the C-MOVE and say nothing, connect nowhere, until the bed is torn down."""
    pacs.release.wait(HANG_LIMIT)
    yield None, None  # pynetdicom then answers "Move Destination unknown", if anyone still listens


@contextmanager
def fake_move_pacs(
    handler: MoveHandler, destination: Destination, *, originator: str | None = None
) -> Iterator[FakeMovePacs]:
    """Run the fake on a free loopback port; its C-MOVEs do as `handler` says.

    `originator` is the Move Originator AE title its C-STOREs carry (default: the destination's,
    which is the mover's own AE title).
    """
    ae = AE(ae_title=originator or destination.ae_title)
    ae.require_called_aet = False
    for context in (
        Verification,
        PatientRootQueryRetrieveInformationModelFind,
        StudyRootQueryRetrieveInformationModelFind,
        PatientRootQueryRetrieveInformationModelMove,
        StudyRootQueryRetrieveInformationModelMove,
    ):
        ae.add_supported_context(context)
    pacs = FakeMovePacs("127.0.0.1", 0, "FAKEMOVE", destination)

    def on_move(event: evt.Event) -> Iterator[Any]:
        pacs.moves += 1
        if str(event.move_destination).strip() != destination.ae_title:
            yield None, None  # Move Destination unknown
            return
        yield from handler(event, pacs)

    def on_find(event: evt.Event) -> Iterator[tuple[int, Dataset | None]]:
        yield from instance_found(event, None)  # type: ignore[arg-type]  # it ignores its PACS

    handlers: list[Any] = [
        (evt.EVT_C_FIND, on_find),
        (evt.EVT_C_MOVE, on_move),
        (evt.EVT_C_ECHO, lambda event: 0x0000),
    ]
    server = ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=handlers)
    assert server is not None  # block=False returns the running server
    pacs.port = int(server.server_address[1])
    try:
        yield pacs
    finally:
        pacs.release.set()
        stop_server(server)


def foreign_stores(
    to: Destination,
    stores: Sequence[tuple[Dataset, tuple[str, int] | None]],
    *,
    source: str = "127.0.0.1",
    calling_ae: str = "STRANGER",
) -> list[int] | None:
    """C-STORE each instance to `to` from `source`, on one association, as a Storage SCU nobody asked.

    Each instance goes with its Move Originator (AE title, Message ID), or none. Returns the status
    of each C-STORE, or None when the association was not accepted.
    """
    ae = AE(ae_title=calling_ae)
    for sop_class in sorted({str(ds.SOPClassUID) for ds, _ in stores}):
        ae.add_requested_context(sop_class, ExplicitVRLittleEndian)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 10
    assoc = ae.associate(to.host, to.port, ae_title=to.ae_title, bind_address=(source, 0))
    if not assoc.is_established:
        return None
    statuses = []
    try:
        for ds, originator in stores:
            aet, message_id = originator or (None, None)
            status = assoc.send_c_store(ds, originator_aet=aet, originator_id=message_id)
            statuses.append(int(status.Status) if status else -1)  # -1: no answer (an abort)
    finally:
        if assoc.is_established:
            assoc.release()
    return statuses
