"""A frame read of a C-STORE too large to hold: its header and the frames asked for, nothing else.

`responses.py` walks a C-STORE still arriving (`framepick.FrameStart`); once its pixel data is
found and the instance would not fit in the reader's room, it hands the message here. `start`
keeps the header and feeds what has arrived of the pixel data to a `framepick.Picker`; each
fragment after that goes to `Picking.feed` instead of pynetdicom's buffer, and only the frames
asked for are kept. When the message ends, the dataset (the header, then a Pixel Data element of
those frames alone) is queued as the C-STORE primitive pynetdicom would have built, with
`frames_kept` on it: the C-GET (or the receiver) answers it and keeps it as any instance. What
cannot be read frame by frame, or passes the room, ends the read with that error.
"""

from __future__ import annotations

import queue
from io import BytesIO
from typing import Any, Final, Protocol

from pynetdicom.dimse_messages import DIMSEMessage

from dicom_mcp.model.framepick import FrameStart, PastRoom, Picked, Picker, Unpickable
from dicom_mcp.model.instances import FramesKept
from dicom_mcp.model.pixelstart import Found
from dicom_mcp.pacs.budget import Budget

# Bytes of the Pixel Data element made of the kept frames beyond them: item headers, padding.
_ELEMENT_SLACK: Final = 64
_PER_FRAME_SLACK: Final = 16


class FrameReader(Protocol):
    """A reader (`responses.HeaderOnly`) that wants some frames of an instance too large to take whole."""

    frames: tuple[int, ...]

    def room(self, command: Any) -> int | None: ...

    def failed(self, command: Any, context_id: int, error: Exception) -> None:
        """The frame read of this C-STORE failed (the association is aborted already)."""
        ...


class Picking:
    """One C-STORE being read frame by frame, past its header."""

    def __init__(self, message: DIMSEMessage, header: bytes, picker: Picker) -> None:
        self.message, self.header, self.picker = message, header, picker

    @property
    def command(self) -> Any:
        return self.message.command_set

    @property
    def context_id(self) -> int:
        return int(self.message.context_id or 0)

    def feed(self, fragments: list[Any]) -> Any:
        """Take the next fragments: the C-STORE primitive once the message ends, else None.

        Raises:
            Unpickable: the message cannot be read frame by frame.
            PastRoom: the frames kept would pass the room.
        """
        for _, data in fragments:
            if data[0] & 1:
                raise Unpickable("a command fragment arrived inside the instance's dataset")
            self.picker.feed(memoryview(data)[1:])
            if data[0] & 2:
                return self._primitive(self.picker.finish())
        return None

    def _primitive(self, picked: Picked) -> Any:
        message = self.message
        message.data_set = BytesIO(self.header + picked.element)
        primitive: Any = message.message_to_primitive()
        primitive.frames_kept = picked
        message.data_set = BytesIO()
        return primitive


def start(
    message: DIMSEMessage, walk: FrameStart, found: Found, syntax: str, frames: tuple[int, ...], room: int
) -> Picking:
    """Begin reading `message` frame by frame: its header kept, what came of its pixel data picked.

    Raises:
        Unpickable: the instance cannot be read frame by frame.
        PastRoom: its header and the frames asked for would pass `room`.
    """
    with message.data_set.getbuffer() as view:  # type: ignore[union-attr]
        header = bytes(view[: found.offset])
        spare = room - len(header) - _ELEMENT_SLACK - _PER_FRAME_SLACK * len(frames)
        if spare <= 0:
            raise PastRoom("the header alone fills the room")
        picker = Picker(found, walk.geometry(), syntax, frames, spare, big=walk.order == ">")
        picker.feed(view[found.offset :])
    message.data_set = BytesIO()  # what came is picked: the buffer is let go
    return Picking(message, header, picker)


def kept(primitive: Any, how: str) -> FramesKept | None:
    """What a C-STORE primitive read frame by frame kept (None: it is a whole instance)."""
    picked: Picked | None = getattr(primitive, "frames_kept", None)
    return None if picked is None else FramesKept(picked.frames, picked.total, how)


class GetFrames:
    """A C-GET's frame reader: the instance asked for, too large for the budget, read frame by frame;
    a failure goes to the C-GET's own queue."""

    def __init__(
        self, messages: queue.Queue[Any], budget: Budget, sop_uid: str | None, frames: tuple[int, ...]
    ) -> None:
        self._messages, self._budget, self._sop_uid = messages, budget, sop_uid
        self.frames = frames

    def room(self, command: Any) -> int | None:
        uid = str(getattr(command, "AffectedSOPInstanceUID", "") or "")
        if self._sop_uid is not None and uid != self._sop_uid:
            return None  # not the instance asked for: taken whole or refused, as any other
        return self._budget.remaining

    def cut(self, cut: Any) -> None:  # a frame reader is never asked to cut (responses.py picks)
        self._messages.put((cut.context_id, cut))

    def failed(self, command: Any, context_id: int, error: Exception) -> None:
        self._messages.put((context_id, error))
