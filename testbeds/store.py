"""A C-MOVE destination: an in-process pynetdicom storage SCP that notes what each sender stored.

It listens before any PACS starts, so its port can go into the PACS's configuration (Orthanc's
`DicomModalities`, dcmqrscp's `HostTable`). Received instances are not kept, only their SOP
Instance UIDs, by the AE title that sent them; tests count those.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts, evt
from pynetdicom.dimse_primitives import C_STORE

from testbeds.faults import stop_server

STORE_AET = "MCPSTORE"


@dataclass(frozen=True)
class Destination:
    """What a PACS must know to send to a move destination."""

    ae_title: str
    host: str
    port: int


@dataclass
class StoreScp:
    """A running storage SCP; `received(sender)` lists the SOP Instance UIDs `sender` stored."""

    destination: Destination
    _received: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, sender: str, sop_uid: str) -> None:
        with self._lock:
            self._received[sender].append(sop_uid)

    def received(self, sender: str) -> list[str]:
        """The SOP Instance UIDs `sender` (a calling AE title) stored, in order of arrival."""
        with self._lock:
            return list(self._received.get(sender, ()))

    def clear(self) -> None:
        """Forget everything received so far."""
        with self._lock:
            self._received.clear()


@contextmanager
def run_store_scp(ae_title: str = STORE_AET, host: str = "127.0.0.1") -> Iterator[StoreScp]:
    """Run a storage SCP (every storage SOP class, every transfer syntax) on a free port of `host`."""
    ae = AE(ae_title=ae_title)
    ae.maximum_pdu_size = 0  # unlimited: pixel data arrives in as few PDUs as the sender likes
    for context in AllStoragePresentationContexts:
        assert context.abstract_syntax is not None  # every storage context names its class
        ae.add_supported_context(context.abstract_syntax, ALL_TRANSFER_SYNTAXES)
    scp = StoreScp(Destination(ae_title, host, 0))  # its port is known once the server listens

    def on_store(event: evt.Event) -> int:
        assert isinstance(event.request, C_STORE)  # the only event handled here
        scp.note(event.assoc.requestor.ae_title.strip(), str(event.request.AffectedSOPInstanceUID))
        return 0x0000

    server = ae.start_server((host, 0), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)])
    assert server is not None  # block=False returns the running server
    scp.destination = Destination(ae_title, host, int(server.server_address[1]))
    try:
        yield scp
    finally:
        stop_server(server)
