"""A misbehaving PACS: an in-process pynetdicom SCP that fails in one chosen way.

Real servers cannot refuse, hang or abort on demand; this one can. Each behaviour is a
C-FIND handler, and optionally a C-GET handler (`get_hangs`, `get_aborts_after`, `get_fails`,
or the healthy `get_sends`) for retrievals: then `instance_found` answers the instance look-up a C-GET needs first. The
SCP itself is real, so the client's network code runs for real.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian
from pynetdicom import AE, evt
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    CTImageStorage,
    PatientRootQueryRetrieveInformationModelFind,
    PatientRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
    Verification,
)
from pynetdicom.transport import AssociationServer

from testbeds.net import free_port

FindHandler = Callable[[evt.Event, "FaultPacs"], Iterator[tuple[int, Dataset | None]]]
# A C-GET handler yields the number of sub-operations first, then (status, instance) pairs.
GetHandler = Callable[[evt.Event, "FaultPacs"], Iterator[int | tuple[int, Dataset | None]]]
FAULT_STUDY_UID = "1.2.3.4"
FAULT_SERIES_UID = "1.2.3.4.5"


@dataclass
class FaultPacs:
    """A running fault SCP; `release` unblocks hanging handlers at teardown."""

    host: str
    port: int
    ae_title: str
    release: threading.Event = field(default_factory=threading.Event)
    cancelled: threading.Event = field(default_factory=threading.Event)
    requests: int = 0
    get_requests: int = 0


def study(n: int) -> Dataset:
    """A minimal STUDY-level match."""
    ds = Dataset()
    ds.QueryRetrieveLevel = "STUDY"
    ds.StudyInstanceUID = f"1.2.3.{n}"
    ds.PatientID = f"FAULT{n}"
    return ds


def answers(count: int, delay: float = 0.0) -> FindHandler:
    """Answer `count` pending matches, `delay` seconds apart, stopping if cancelled."""

    def handler(event: evt.Event, pacs: FaultPacs) -> Iterator[tuple[int, Dataset | None]]:
        for n in range(count):
            if event.is_cancelled:
                pacs.cancelled.set()
                yield 0xFE00, None
                return
            if delay and pacs.release.wait(delay):
                return
            yield 0xFF00, study(n)
        yield 0x0000, None

    return handler


def hang(event: evt.Event, pacs: FaultPacs) -> Iterator[tuple[int, Dataset | None]]:
    """Accept the query and never answer."""
    pacs.release.wait(120)
    yield 0x0000, None


def failure(code: int) -> FindHandler:
    """Answer with a failure status."""

    def handler(event: evt.Event, pacs: FaultPacs) -> Iterator[tuple[int, Dataset | None]]:
        yield code, None

    return handler


def abort_after(count: int) -> FindHandler:
    """Answer `count` matches, then abort the association."""

    def handler(event: evt.Event, pacs: FaultPacs) -> Iterator[tuple[int, Dataset | None]]:
        for n in range(count):
            yield 0xFF00, study(n)
        event.assoc.abort()
        yield 0xFF00, study(count)

    return handler


def instance_found(event: evt.Event, pacs: FaultPacs) -> Iterator[tuple[int, Dataset | None]]:
    """Answer an IMAGE-level look-up with one CT instance: the UID asked for, in a fixed study and series."""
    match = Dataset()
    match.QueryRetrieveLevel = "IMAGE"
    match.StudyInstanceUID = FAULT_STUDY_UID
    match.SeriesInstanceUID = FAULT_SERIES_UID
    match.SOPInstanceUID = event.identifier.get("SOPInstanceUID") or f"{FAULT_SERIES_UID}.1"
    match.SOPClassUID = CTImageStorage
    yield 0xFF00, match
    yield 0x0000, None


def ct_instance(n: int) -> Dataset:
    """A small CT instance, ready to be sent by a C-GET."""
    ds = Dataset()
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = f"{FAULT_SERIES_UID}.{n}"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = FAULT_STUDY_UID, FAULT_SERIES_UID
    ds.Modality = "CT"
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return ds


def get_hangs(event: evt.Event, pacs: FaultPacs) -> Iterator[int | tuple[int, Dataset | None]]:
    """Accept the C-GET, announce one instance, and never send it."""
    yield 1
    pacs.release.wait(120)
    yield 0xA700, None


def get_aborts_after(count: int) -> GetHandler:
    """Send `count` instances of more announced, then abort the association."""

    def handler(event: evt.Event, pacs: FaultPacs) -> Iterator[int | tuple[int, Dataset | None]]:
        yield count + 2
        for n in range(1, count + 1):
            yield 0xFF00, ct_instance(n)
        event.assoc.abort()
        yield 0xFF00, ct_instance(count + 1)

    return handler


def get_sends(count: int) -> GetHandler:
    """Send `count` CT instances and succeed: a healthy retrieve."""

    def handler(event: evt.Event, pacs: FaultPacs) -> Iterator[int | tuple[int, Dataset | None]]:
        yield count
        for n in range(1, count + 1):
            yield 0xFF00, ct_instance(n)

    return handler


def get_fails(code: int) -> GetHandler:
    """Answer the C-GET with a failure status and no instance."""

    def handler(event: evt.Event, pacs: FaultPacs) -> Iterator[int | tuple[int, Dataset | None]]:
        yield 1
        yield code, None

    return handler


@contextmanager
def fault_pacs(
    handler: FindHandler,
    *,
    get_handler: GetHandler | None = None,
    ae_title: str = "FAULTY",
    strict_called_ae: bool = False,
    max_associations: int = 10,
    ssl_context: ssl.SSLContext | None = None,
    echo_delay: float = 0.0,
) -> Iterator[FaultPacs]:
    """Run an SCP on a free loopback port whose C-FIND behaves as `handler` says.

    With `get_handler` it also serves C-GET (of CT instances), as that handler says. Its C-ECHO
    answers Success after `echo_delay` seconds.
    """
    ae = AE(ae_title=ae_title)
    ae.require_called_aet = strict_called_ae
    ae.maximum_associations = max_associations
    for context in (
        Verification,
        PatientRootQueryRetrieveInformationModelFind,
        StudyRootQueryRetrieveInformationModelFind,
    ):
        ae.add_supported_context(context)
    if get_handler is not None:
        ae.add_supported_context(PatientRootQueryRetrieveInformationModelGet)
        ae.add_supported_context(StudyRootQueryRetrieveInformationModelGet)
        # The instances go back as C-STOREs on the same association: this SCP is their SCU.
        ae.add_supported_context(CTImageStorage, ExplicitVRLittleEndian, scu_role=True, scp_role=True)
    pacs = FaultPacs("127.0.0.1", 0, ae_title)

    def on_find(event: evt.Event) -> Iterator[tuple[int, Dataset | None]]:
        pacs.requests += 1
        yield from handler(event, pacs)

    def on_get(event: evt.Event) -> Iterator[int | tuple[int, Dataset | None]]:
        assert get_handler is not None
        pacs.get_requests += 1
        yield from get_handler(event, pacs)

    def on_echo(event: evt.Event) -> int:
        pacs.release.wait(echo_delay)
        return 0x0000

    handlers: list[Any] = [(evt.EVT_C_FIND, on_find), (evt.EVT_C_ECHO, on_echo), (evt.EVT_C_GET, on_get)]
    server = ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=handlers, ssl_context=ssl_context)
    assert server is not None  # block=False returns the running server
    pacs.port = server.server_address[1]
    try:
        yield pacs
    finally:
        pacs.release.set()
        stop_server(server)


def stop_server(server: AssociationServer) -> None:
    """Shut a pynetdicom server down now, not at its accept loop's next half-second poll.

    `shutdown()` only sets a flag that the loop reads when its select() returns; a connection
    makes it return (the loop then exits without accepting it).
    """
    stopper = threading.Thread(target=server.shutdown)
    stopper.start()
    host, port = server.server_address[:2]
    while stopper.is_alive():
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
            pass
        stopper.join(0.01)


@contextmanager
def silent_peer(backlog: int = 64) -> Iterator[int]:
    """A loopback port whose listener completes TCP handshakes and never says a word; yields the port.

    Nothing accepts: the kernel finishes the handshake for connections waiting in the backlog,
    so a client's A-ASSOCIATE-RQ is delivered and never answered (nor is the connection closed).
    """
    with socket.create_server(("127.0.0.1", 0), backlog=backlog) as server:
        yield int(server.getsockname()[1])


def closed_port() -> int:
    """A loopback port with nothing listening on it (a moment ago)."""
    return free_port()
