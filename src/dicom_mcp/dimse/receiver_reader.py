"""The receiver's reader of each association: what of a large C-STORE a retrieval waiting for it takes.

pynetdicom's DIMSE provider on each association the PACS opens to the receiver has one
(`header_only`, read by `scu/responses.py`). It finds the retrieval a C-STORE is for by the
command set's Move Originator fields (`Receiver.waiter_for`): for a header-only read, an
instance too large for its budget is cut at its pixel data; for a frame read, it is read on with
only the frames asked for (`scu/frames.py`). Any other C-STORE, and any for a retrieval another
replica holds (handed on through Redis), is taken whole or refused at the cap, as usual.
"""

from __future__ import annotations

from typing import Any, Protocol

from pydicom.uid import ExplicitVRLittleEndian

from dicom_mcp.dimse.scu.responses import Cut
from dicom_mcp.dimse.scu.retrieve import sop_uid_of
from dicom_mcp.dimse.waits import Waiter
from dicom_mcp.errors import NotRenderable
from dicom_mcp.model.framepick import PastRoom
from dicom_mcp.pacs.budget import too_large


class Receiving(Protocol):
    """What the reader asks of the receiver (`receiver.Receiver`)."""

    ae_title: str

    def waiter_for(self, command: Any) -> Waiter | None: ...

    def took(self, path: str) -> None: ...

    def refuse(self, reason: str) -> None: ...


class StoreReader:
    """The receiver's reader for one association (`scu.responses.HeaderOnly`, `scu.frames.FrameReader`):
    a C-STORE for a header-only or frame read may be taken whole while its budget lasts, else up to
    its pixel data, or with the frames that read asked for."""

    def __init__(self, receiver: Receiving, assoc: Any) -> None:
        self._receiver, self._assoc = receiver, assoc
        self._frames: tuple[int, ...] = ()

    @property
    def frames(self) -> tuple[int, ...]:
        """The frames the retrieval of the C-STORE last asked about (`room`) wants; () for none.

        One association serves many retrievals, but brings one message at a time: what `room`
        found holds until the next C-STORE's is asked."""
        return self._frames

    def room(self, command: Any) -> int | None:
        waiter = self._receiver.waiter_for(command)
        self._frames = (waiter.frames or ()) if waiter is not None else ()
        if waiter is None or not (waiter.header_only or waiter.frames):
            return None
        return waiter.budget.remaining

    def cut(self, cut: Cut) -> None:
        waiter = self._receiver.waiter_for(cut.command)
        syntax = next(
            (
                str(cx.transfer_syntax[0])
                for cx in self._assoc.accepted_contexts
                if cx.context_id == cut.context_id
            ),
            ExplicitVRLittleEndian,
        )
        sop_uid = sop_uid_of(cut.command)
        where = f"receiver {self._receiver.ae_title}"
        if waiter is not None and waiter.take_header(sop_uid, cut, syntax, where):
            self._receiver.took("kept")

    def failed(self, command: Any, context_id: int, error: Exception) -> None:
        """A frame read of this C-STORE failed (the association is aborted): so does its retrieval."""
        self._receiver.refuse("too large")  # past the cap, and not taken: as at the byte limit
        waiter = self._receiver.waiter_for(command)
        if waiter is not None:
            where = f"receiver {self._receiver.ae_title}"
            waiter.fail(
                too_large(where, waiter.budget.cap)
                if isinstance(error, PastRoom)
                else NotRenderable(str(error))
            )
