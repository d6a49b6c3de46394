"""C-FIND responses read from their bytes, in front of pynetdicom's `receive_primitive`.

pynetdicom turns each incoming DIMSE message into a pydicom Dataset of its command set, then
copies that into a primitive, element by element: about 90 µs for each C-FIND match. This
`receive_primitive` reads a plain C-FIND-RSP command set from its bytes (`dimse/commands.py`)
and builds the same primitive (`C_FIND` with the responded-to message ID, SOP class, status,
identifier and context ID) for the same queue. Any other message, a response carrying more
elements (an error comment, say), or an association with its own EVT_DIMSE_RECV handlers, goes
through pynetdicom's own code. `reactor.install()` puts it in place, behind the fingerprints of
the pynetdicom methods whose work it does.

It also bounds what a message may bring before pynetdicom has gathered it: with a `byte_limit`
on the DIMSE provider (a C-GET sets it from its budget), a message whose fragments pass it is
dropped and the association aborted (`over_limit` says why), so one huge C-STORE is never
held whole.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any, Final

from pynetdicom import evt
from pynetdicom.dimse import DIMSEServiceProvider
from pynetdicom.dimse_primitives import C_FIND

from dicom_mcp.dimse import commands

# pynetdicom's own, as imported (before reactor.install() puts ours in its place).
ORIGINAL: Final = DIMSEServiceProvider.receive_primitive


class _FindInProgress:
    """A C-FIND response whose command set is read and whose identifier is still arriving."""

    __slots__ = ("context_id", "identifier", "response")

    def __init__(self, context_id: int, response: commands.FindResponse) -> None:
        self.context_id = context_id
        self.response = response
        self.identifier = BytesIO()


def receive_primitive(self: DIMSEServiceProvider, primitive: Any) -> None:
    """pynetdicom's `receive_primitive`, with plain C-FIND responses read from their bytes."""
    pending: _FindInProgress | None = getattr(self, "_find_in_progress", None)
    fragments = list(getattr(primitive, "presentation_data_value_list", None) or ())
    if _past_limit(self, fragments, starting=pending is None and self.message is None):
        return
    if pending is None:
        if self.message is not None or not fragments or self.assoc.get_handlers(evt.EVT_DIMSE_RECV):
            ORIGINAL(self, primitive)
            return
        context_id, data = fragments[0]
        response = commands.find_response(memoryview(data)[1:]) if data[0] & 3 == 3 else None
        if response is None:  # not a whole command set, or not a plain C-FIND-RSP
            ORIGINAL(self, primitive)
            return
        pending = _FindInProgress(context_id, response)
        if not response.has_data_set:
            _deliver(self, pending)  # as pynetdicom, nothing after a complete message is read
            return
        fragments = fragments[1:]
    self._find_in_progress = pending  # type: ignore[attr-defined]
    for _, data in fragments:
        if data[0] & 1:  # a command fragment before the identifier ended: an invalid message
            self._find_in_progress = None  # type: ignore[attr-defined]
            self.dul.event_queue.put("Evt19")
            return
        pending.identifier.write(data[1:])
        if data[0] & 2:  # the identifier's last fragment
            self._find_in_progress = None  # type: ignore[attr-defined]
            _deliver(self, pending)
            return


def _past_limit(self: DIMSEServiceProvider, fragments: list[Any], *, starting: bool) -> bool:
    """Count a message's bytes as they come; past the provider's `byte_limit`, drop it and abort."""
    limit = getattr(self, "byte_limit", None)
    if limit is None:
        return False
    size = sum(len(data) for _, data in fragments)
    arrived = size if starting else getattr(self, "_arrived", 0) + size
    self._arrived = arrived  # type: ignore[attr-defined]
    if arrived <= limit():
        return False
    told = getattr(self, "on_over_limit", None)
    if told is not None:  # the receiver: tell the retrieval this message was for
        told(getattr(self.message, "command_set", None))
    self.message = None
    self._find_in_progress = None  # type: ignore[attr-defined]
    self.over_limit = True  # type: ignore[attr-defined]
    self.dul.event_queue.put("Evt19")  # an A-ABORT, as for any message we will not take
    return True


def _deliver(self: DIMSEServiceProvider, done: _FindInProgress) -> None:
    """Queue the C_FIND primitive pynetdicom's `message_to_primitive` would have built."""
    rsp = C_FIND()
    rsp.MessageIDBeingRespondedTo = done.response.message_id
    rsp.AffectedSOPClassUID = done.response.sop_class
    rsp.Status = done.response.status
    rsp.Identifier = done.identifier
    rsp._context_id = done.context_id
    self.msg_queue.put((done.context_id, rsp))
