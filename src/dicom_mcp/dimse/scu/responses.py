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

And it lets a reader that wants only an instance's header (`header_only` on the provider: a C-GET
for get_instance_metadata, or the receiver for one) stop a large C-STORE at its pixel data: the
dataset's element headers are walked as its fragments arrive (`model/pixelstart.py`), and once
the top-level pixel data begins and would not fit in the reader's room (its length says so, or
the message passes `byte_limit` with its header already whole), the bytes before it go to the
reader (`HeaderOnly.cut`), and the association is aborted there and then (`_hang_up`).

A reader that wants some frames of such an instance (`frames` on it: render_image, viewer_frames)
gets them instead: the message is read on past its header by `frames.py`, which keeps only those
frames, counted against the reader's room, and queues the C-STORE once it has ended; the
association goes on. A message that cannot be read so ends the read (`failed`) and the association.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from io import BytesIO
from typing import Any, Final, Protocol

from pydicom.uid import UID, DeflatedExplicitVRLittleEndian
from pynetdicom import evt
from pynetdicom.dimse import DIMSEServiceProvider
from pynetdicom.dimse_messages import C_STORE_RQ, DIMSEMessage
from pynetdicom.dimse_primitives import C_FIND
from pynetdicom.pdu import A_ABORT_RQ

from dicom_mcp.dimse import commands
from dicom_mcp.dimse.scu import frames
from dicom_mcp.model.framepick import FrameStart, PastRoom, Unpickable
from dicom_mcp.model.pixelstart import Found, PixelStart

# pynetdicom's own, as imported (before reactor.install() puts ours in its place).
ORIGINAL: Final = DIMSEServiceProvider.receive_primitive


@dataclass(frozen=True)
class Cut:
    """A C-STORE stopped at its pixel data: its command set, context, and the dataset before it."""

    command: Any  # the C-STORE-RQ's command set (a pydicom Dataset)
    context_id: int
    data: bytes
    pixels: Found


class HeaderOnly(Protocol):
    """A reader that wants only the header of an instance too large to take whole."""

    def room(self, command: Any) -> int | None:
        """The bytes the instance this C-STORE-RQ command set brings may take whole; None: any
        instance of this message is taken whole, or refused at the byte limit, as usual."""
        ...

    def cut(self, cut: Cut) -> None:
        """Take an instance stopped at its pixel data (the association is aborted already)."""
        ...


@dataclass
class _Walk:
    """One C-STORE's walk to its pixel data, and how much of it may be taken whole."""

    message: DIMSEMessage
    start: PixelStart | None  # None: not walked (not for a header-only reader, or deflated)
    room: int = 0
    fits: bool = False  # the pixel data was found and fits in the room: the message is taken whole


class _FindInProgress:
    """A C-FIND response whose command set is read and whose identifier is still arriving."""

    __slots__ = ("context_id", "identifier", "response")

    def __init__(self, context_id: int, response: commands.FindResponse) -> None:
        self.context_id = context_id
        self.response = response
        self.identifier = BytesIO()


def receive_primitive(self: DIMSEServiceProvider, primitive: Any) -> None:
    """pynetdicom's `receive_primitive`, with plain C-FIND responses read from their bytes."""
    if getattr(self, "stopped", False):  # a message was cut or refused: the association is ending
        return
    pending: _FindInProgress | None = getattr(self, "_find_in_progress", None)
    fragments = list(getattr(primitive, "presentation_data_value_list", None) or ())
    picking: frames.Picking | None = getattr(self, "_picking", None)
    if picking is not None:  # a C-STORE read frame by frame: only what is kept is held
        _pick_on(self, picking, fragments)
        return
    if _past_limit(self, fragments, starting=pending is None and self.message is None):
        return
    if pending is None:
        if self.message is not None or not fragments or self.assoc.get_handlers(evt.EVT_DIMSE_RECV):
            ORIGINAL(self, primitive)
            _watch(self)
            return
        context_id, data = fragments[0]
        response = commands.find_response(memoryview(data)[1:]) if data[0] & 3 == 3 else None
        if response is None:  # not a whole command set, or not a plain C-FIND-RSP
            ORIGINAL(self, primitive)
            _watch(self)
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
    walk: _Walk | None = getattr(self, "_walk", None)
    found = walk.start.found if walk is not None and walk.start is not None else None
    if walk is not None and walk.message is self.message and found is not None and not walk.fits:
        _stop(self, walk, found, fragments)  # its header is whole: hand that on instead of refusing it
        return True
    told = getattr(self, "on_over_limit", None)
    if told is not None:  # the receiver: tell the retrieval this message was for
        told(getattr(self.message, "command_set", None))
    self.message = None
    self._find_in_progress = None  # type: ignore[attr-defined]
    self.over_limit = True  # type: ignore[attr-defined]
    self.stopped = True  # type: ignore[attr-defined]
    self.dul.event_queue.put("Evt19")  # an A-ABORT, as for any message we will not take
    return True


def _watch(self: DIMSEServiceProvider) -> None:
    """Walk a C-STORE still arriving for a header-only reader; cut it once its pixel data would not fit."""
    reader: HeaderOnly | None = getattr(self, "header_only", None)
    message = self.message
    if reader is None or not isinstance(message, C_STORE_RQ) or message._data_set_file is not None:
        return
    walk: _Walk | None = getattr(self, "_walk", None)
    if walk is None or walk.message is not message:
        walk = self._walk = _walk_for(self, reader, message)  # type: ignore[attr-defined]
    start = walk.start
    if start is None or start.done:
        return
    with message.data_set.getbuffer() as view:  # type: ignore[union-attr]
        found = start.advance(view)
    if found is None:
        return
    end = found.end
    if end is not None and end <= walk.room:
        walk.fits = True  # small enough: taken whole, as any instance
    elif end is not None:
        _stop(self, walk, found)
    # Undefined length (encapsulated): cut only if the message passes the byte limit (_past_limit).


def _walk_for(self: DIMSEServiceProvider, reader: HeaderOnly, message: DIMSEMessage) -> _Walk:
    room = reader.room(message.command_set)
    syntax = _syntax_of(self, message)
    if room is None or syntax is None or syntax == DeflatedExplicitVRLittleEndian:
        return _Walk(message, None)
    kind = FrameStart if getattr(reader, "frames", None) else PixelStart
    return _Walk(
        message, kind(implicit_vr=syntax.is_implicit_VR, little_endian=syntax.is_little_endian), room
    )


def _stop(self: DIMSEServiceProvider, walk: _Walk, found: Found, fragments: list[Any] | None = None) -> None:
    """An instance too large for the reader's room: cut at its pixel data, or read frame by frame
    (`fragments`: those of this primitive, which pynetdicom has not yet taken)."""
    reader: frames.FrameReader | None = self.header_only  # type: ignore[attr-defined]
    if reader is None or not getattr(reader, "frames", None) or not isinstance(walk.start, FrameStart):
        _cut(self, walk, found)
        return
    message = walk.message
    self.message, self._walk = None, None  # type: ignore[attr-defined]
    syntax = _syntax_of(self, message)
    try:
        picking = frames.start(message, walk.start, found, str(syntax), reader.frames, walk.room)
    except (Unpickable, PastRoom) as exc:
        _pick_failed(self, message.command_set, int(message.context_id or 0), exc)
        return
    self._picking = picking  # type: ignore[attr-defined]
    if fragments:
        _pick_on(self, picking, fragments)


def _pick_on(self: DIMSEServiceProvider, picking: frames.Picking, fragments: list[Any]) -> None:
    try:
        done = picking.feed(fragments)
    except (Unpickable, PastRoom) as exc:
        self._picking = None  # type: ignore[attr-defined]
        _pick_failed(self, picking.command, picking.context_id, exc)
        return
    if done is not None:
        self._picking = None  # type: ignore[attr-defined]
        self.msg_queue.put((picking.context_id, done))


def _pick_failed(self: DIMSEServiceProvider, command: Any, context_id: int, error: Exception) -> None:
    _hang_up(self)
    reader: frames.FrameReader = self.header_only  # type: ignore[attr-defined]
    reader.failed(command, context_id, error)


def _syntax_of(self: DIMSEServiceProvider, message: DIMSEMessage) -> UID | None:
    return next(
        (
            UID(cx.transfer_syntax[0])
            for cx in self.assoc.accepted_contexts
            if cx.context_id == message.context_id
        ),
        None,
    )


def _cut(self: DIMSEServiceProvider, walk: _Walk, found: Found) -> None:
    """Hand the header before `found` to the reader, and drop the rest of the message."""
    message = walk.message
    with message.data_set.getbuffer() as view:  # type: ignore[union-attr]
        data = bytes(view[: found.offset])
    cut = Cut(message.command_set, int(message.context_id or 0), data, found)
    self.message = None
    self._walk = None  # type: ignore[attr-defined]
    _hang_up(self)
    reader: HeaderOnly = self.header_only  # type: ignore[attr-defined]
    reader.cut(cut)


def _hang_up(self: DIMSEServiceProvider) -> None:
    """Abort the association at once, from the DUL thread: A-ABORT sent, connection closed, DUL stopped.

    Not through the state machine: it would wait in Sta13 for the peer to close, reading what the
    peer still sends meanwhile, and a peer in the middle of a multi-gigabyte C-STORE may not look
    before it is done (or ARTIM expires).
    """
    abort = A_ABORT_RQ()
    abort.source, abort.reason_diagnostic = 0x00, 0x00  # the service user: us
    socket = self.dul.socket
    with suppress(Exception):  # best effort: the connection is closed either way
        if socket is not None:
            socket.send(abort.encode())
            socket.close()
    self.stopped = self.hung_up = True  # type: ignore[attr-defined]
    self.assoc.is_aborted, self.assoc.is_established, self.assoc._kill = True, False, True
    self.dul._kill_thread = True


def _deliver(self: DIMSEServiceProvider, done: _FindInProgress) -> None:
    """Queue the C_FIND primitive pynetdicom's `message_to_primitive` would have built."""
    rsp = C_FIND()
    rsp.MessageIDBeingRespondedTo = done.response.message_id
    rsp.AffectedSOPClassUID = done.response.sop_class
    rsp.Status = done.response.status
    rsp.Identifier = done.identifier
    rsp._context_id = done.context_id
    self.msg_queue.put((done.context_id, rsp))
