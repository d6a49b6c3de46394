"""The sample PACS on the network: a pynetdicom Query/Retrieve SCP over an `Index`, loopback only.

It answers C-ECHO; C-FIND, C-GET and C-MOVE in the Patient Root and Study Root models. A C-GET
sends each instance back on the same association as a C-STORE sub-operation (the requester takes
the SCP role for its SOP class), in the transfer syntax it is stored in when the requester
accepted that one, else uncompressed; with neither accepted, that sub-operation fails and is
counted (`sending.py`). A C-MOVE sends them the same way on a new association to one of the
move destinations it was started with, all on loopback (`move.py`).

The called AE title must be the sample PACS's own, as a real PACS would insist. Handlers log
nothing about what they match or send; pynetdicom's own identifier logging is turned off when
the server starts (the service turns it off too, `dimse.reactor.configure_pynetdicom`).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Iterable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from pydicom.dataset import Dataset
from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, _config, evt
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from dicom_mcp.demo.find import (
    CANCEL,
    PATIENT_ROOT_FIND,
    PATIENT_ROOT_GET,
    PATIENT_ROOT_MOVE,
    PENDING,
    STUDY_ROOT_FIND,
    STUDY_ROOT_GET,
    STUDY_ROOT_MOVE,
    Query,
    Refused,
    to_retrieve,
)
from dicom_mcp.demo.index import Index
from dicom_mcp.demo.move import Destinations, on_move
from dicom_mcp.demo.sending import accepted_syntaxes, no_delay, sendable
from dicom_mcp.errors import NotLoopback

logger = logging.getLogger(__name__)

AE_TITLE: Final = "SAMPLE-PACS"
LOOPBACK: Final = "127.0.0.1"
MAX_ASSOCIATIONS: Final = 32
CONNECT_TIMEOUT: Final = 5.0  # seconds, to a move destination


@dataclass
class SamplePacs:
    """A running sample PACS: where to reach it, and `stop()`."""

    host: str
    port: int
    ae_title: str
    index: Index = field(repr=False)
    _server: Any = field(repr=False)
    name: str = "demo"
    move_destinations: Mapping[str, tuple[str, int]] = field(default_factory=dict)

    @property
    def instance_count(self) -> int:
        return self.index.instance_count

    def describe(self) -> str:
        """e.g. `SAMPLE-PACS@127.0.0.1:40321 (loopback only): 5 patients, 7 studies, 70 instances`."""
        counts = (len(self.index.entities(level)) for level in ("PATIENT", "STUDY", "IMAGE"))
        patients, studies, instances = counts
        return (
            f"{self.ae_title}@{self.host}:{self.port} (loopback only): {patients} patients, "
            f"{studies} studies, {instances} instances"
        )

    def stop(self) -> None:
        """Close the listening socket and every association (idempotent)."""
        self._server.shutdown()

    def __enter__(self) -> SamplePacs:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def is_loopback(host: str) -> bool:
    """Whether `host` is a loopback address, or a name that resolves to loopback addresses only."""
    found: set[str] = set()
    if host:
        with suppress(socket.gaierror, UnicodeError):
            found = {str(info[4][0]) for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)}
    return bool(found) and all(ipaddress.ip_address(address.split("%")[0]).is_loopback for address in found)


def check_loopback(host: str) -> None:
    """Refuse any address but a loopback one.

    Raises:
        NotLoopback: `host` is empty (every interface), another interface, or a name that does not
            resolve to loopback addresses only.
    """
    if not is_loopback(host):
        raise NotLoopback(
            f"the sample PACS listens on loopback only (127.0.0.1 or ::1), not on {host or 'every interface'!r}: "
            "it is a demo and a test peer, never a PACS"
        )


def start_sample_pacs(
    datasets: Iterable[Dataset],
    host: str = LOOPBACK,
    port: int = 0,
    ae_title: str = AE_TITLE,
    move_destinations: Destinations | None = None,
) -> SamplePacs:
    """Index `datasets` and serve them on `host`:`port` (0: a free port) until `stop()`.

    `move_destinations` (AE title -> (host, port)) are where a C-MOVE may send; none by default.

    Raises:
        NotLoopback: see `check_loopback`, for `host` and each move destination's host; checked
            before anything is indexed or bound.
        ValueError: a move destination's AE title or port no association could use.
    """
    check_loopback(host)
    destinations = MappingProxyType(_checked(move_destinations or {}))
    index = Index(datasets)
    # Process-wide, but it only ever turns logging of identifiers off, as the service does.
    _config.LOG_REQUEST_IDENTIFIERS = False
    _config.LOG_RESPONSE_IDENTIFIERS = False
    ae = _application_entity(ae_title, index)
    handlers: list[Any] = [
        (evt.EVT_CONN_OPEN, no_delay),
        (evt.EVT_C_FIND, _on_find, [index, ae_title]),
        (evt.EVT_C_GET, _on_get, [index]),
        (evt.EVT_C_MOVE, on_move, [index, destinations]),
    ]
    server = ae.start_server((host, port), block=False, evt_handlers=handlers)
    if server is None:  # pragma: no cover - only a blocking start returns None
        raise RuntimeError("pynetdicom returned no server")
    bound = int(server.server_address[1])
    logger.info("sample PACS %s listening on %s:%d", ae_title, host, bound)
    return SamplePacs(host, bound, ae_title, index, server, move_destinations=destinations)


def _checked(destinations: Destinations) -> dict[str, tuple[str, int]]:
    """A copy of `destinations`, every host a loopback one, every AE title and port usable."""
    known: dict[str, tuple[str, int]] = {}
    for ae_title, (host, port) in destinations.items():
        if not 0 < len(ae_title) <= 16 or ae_title != ae_title.strip() or "\\" in ae_title:
            raise ValueError(f"{ae_title!r} is not an AE title (1-16 characters, no backslash)")
        if not 0 < port < 65536:
            raise ValueError(f"move destination {ae_title}: port {port} is out of range")
        if not is_loopback(host):
            raise NotLoopback(
                f"the sample PACS moves to loopback destinations only, not to {ae_title} at {host!r}: "
                "it is a demo and a test peer, never a PACS"
            )
        known[ae_title] = (host, port)
    return known


def _application_entity(ae_title: str, index: Index) -> AE:
    ae = AE(ae_title=ae_title)
    ae.require_called_aet = True
    ae.maximum_associations = MAX_ASSOCIATIONS
    ae.connection_timeout = CONNECT_TIMEOUT
    ae.add_supported_context(Verification)
    models = (PATIENT_ROOT_FIND, STUDY_ROOT_FIND, PATIENT_ROOT_GET, STUDY_ROOT_GET)
    for model in (*models, PATIENT_ROOT_MOVE, STUDY_ROOT_MOVE):
        ae.add_supported_context(model)
    # Only the classes it holds: pynetdicom copies every supported context for each association
    # (measured: all 150 storage classes cost ~50 ms per association, these few ~2 ms).
    for sop_class in sorted({str(entity.sample.SOPClassUID) for entity in index.entities("IMAGE")}):
        # The requester of a C-GET stores what we send: it takes the SCP role, we the SCU role.
        ae.add_supported_context(sop_class, ALL_TRANSFER_SYNTAXES, scu_role=False, scp_role=True)
    return ae


def _on_find(event: evt.Event, index: Index, ae_title: str) -> Iterator[tuple[int, Dataset | None]]:
    try:
        query = Query.read(event.identifier, str(event.request.AffectedSOPClassUID))
    except Refused as refused:
        yield refused.status, None
        return
    for entity in query.matches(index):
        if event.is_cancelled:
            yield CANCEL, None
            return
        yield PENDING, query.answer(entity, ae_title)


def _on_get(event: evt.Event, index: Index) -> Iterator[int | tuple[int, Dataset | None]]:
    try:
        instances = to_retrieve(index, event.identifier, str(event.request.AffectedSOPClassUID))
    except Refused as refused:
        yield 1
        yield refused.status, None
        return
    yield len(instances)
    accepted = accepted_syntaxes(event.assoc)
    for ds in instances:
        if event.is_cancelled:
            yield CANCEL, None
            return
        yield PENDING, sendable(ds, accepted.get(str(ds.SOPClassUID), set()))
