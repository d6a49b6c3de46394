"""The sample PACS's C-MOVE: what an identifier names goes by C-STORE to a known, loopback destination.

The sample PACS knows its move destinations as a small mapping, AE title -> (host, port), each
checked to be a loopback address when it starts, as its own address is. A Move Destination it
does not know gets 0xA801 (Move Destination unknown), as from Orthanc; so does one that does not
accept the association (pynetdicom's answer).

pynetdicom does the rest, as a PACS does (PS3.4 C.4.2.3): it opens a new association from the
sample PACS's AE title to the destination, sends each instance the handler yields as a C-STORE
sub-operation, answers Pending after each with the remaining, completed, failed and warning
counts, and ends with Success, Warning 0xB000 (some failed) or Failure 0xA702 (all failed).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pynetdicom import evt
from pynetdicom.association import Association

from dicom_mcp.demo.find import CANCEL, PENDING, Refused, to_retrieve
from dicom_mcp.demo.index import Index
from dicom_mcp.demo.sending import accepted_syntaxes, no_delay, sendable, storage_contexts

STOPPING = 5.0  # seconds to wait for a stopped reactor thread to end (it ends at once)
Destinations = Mapping[str, tuple[str, int]]
"""Move destinations: AE title -> (host, port)."""


def on_move(event: evt.Event, index: Index, destinations: Destinations) -> Iterator[Any]:
    """The EVT_C_MOVE handler: the destination's address, the number of instances, then each instance."""
    address = destinations.get(event.move_destination or "")
    if address is None:
        yield None, None  # pynetdicom answers 0xA801, Move Destination unknown
        return
    try:
        instances = to_retrieve(index, event.identifier, str(event.request.AffectedSOPClassUID))
    except Refused as refused:
        # pynetdicom takes a status only once the destination's association is open.
        yield (*address, {"contexts": storage_contexts([])})
        yield 1
        yield refused.status, None
        return
    opened: list[Association] = []
    handlers = [(evt.EVT_CONN_OPEN, no_delay), (evt.EVT_ACCEPTED, _note_association, [opened])]
    yield (*address, {"contexts": storage_contexts(instances), "evt_handlers": handlers})
    yield len(instances)  # none: Success at once, without an association
    syntaxes: dict[str, set[Any]] = {}
    if opened:
        store = opened[0]
        store.join(timeout=STOPPING)  # its reactor thread, told to stop when it was accepted
        store._is_paused = True  # what send_c_store and release() wait for
        syntaxes = accepted_syntaxes(store)
    for ds in instances:
        if event.is_cancelled:
            yield CANCEL, None
            return
        yield PENDING, sendable(ds, syntaxes.get(str(ds.SOPClassUID), set()))


def _note_association(event: evt.Event, opened: list[Association]) -> None:
    """EVT_ACCEPTED of the association to the destination: stop its reactor thread, note it.

    pynetdicom's requestor keeps a reactor thread that takes messages off the DIMSE queue between
    its pause checks; under load it took a C-STORE response that send_c_store was waiting for,
    and the move hung until the service's DIMSE timeout (about 1 move in 60 under CPU load). The
    service's own associations stop that thread the same way (`dicom/scu/association.py`).
    The generator resumes once pynetdicom has opened the association; this tells it which one.
    """
    event.assoc._kill = True
    opened.append(event.assoc)
