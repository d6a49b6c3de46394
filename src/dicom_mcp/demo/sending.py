"""How the sample data goes out by C-STORE: the contexts proposed for it, and each instance's form.

Used by the C-GET and C-MOVE handlers (`scp.py`, `move.py`), `sendable` by `load.py` too. An instance
goes in the transfer syntax it is stored in when the receiver accepted that one, else
decompressed when the receiver accepted an uncompressed syntax; with neither, its C-STORE finds
no context and fails, and the operation counts the failure.
"""

from __future__ import annotations

import copy
import socket
from collections.abc import Iterable
from typing import Final

from pydicom.dataset import Dataset
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import build_context, evt
from pynetdicom.association import Association
from pynetdicom.presentation import PresentationContext
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

UNCOMPRESSED: Final = (ExplicitVRLittleEndian, ImplicitVRLittleEndian)


def storage_contexts(datasets: Iterable[Dataset]) -> list[PresentationContext]:
    """For each SOP class: one context per other syntax its instances are stored in, and one uncompressed.

    The uncompressed context offers Explicit and Implicit VR Little Endian, so that a receiver
    that takes only the default syntax still gets every instance, decompressed where need be.
    Verification too: a receiver that takes none of the storage classes still accepts the
    association then, and each store fails (and is counted) instead of the association.
    """
    stored = {(str(ds.SOPClassUID), stored_syntax(ds)) for ds in datasets}
    contexts = [build_context(Verification)]
    for sop_class in sorted({sop_class for sop_class, _ in stored}):
        others = sorted(
            syntax for cls, syntax in stored if cls == sop_class and syntax and syntax not in UNCOMPRESSED
        )
        contexts += [build_context(sop_class, syntax) for syntax in others]
        contexts.append(build_context(sop_class, list(UNCOMPRESSED)))
    return contexts


def stored_syntax(ds: Dataset) -> UID | None:
    """The transfer syntax `ds` is stored in, from its file meta; None without one."""
    meta = getattr(ds, "file_meta", None)
    return UID(meta.TransferSyntaxUID) if meta is not None and "TransferSyntaxUID" in meta else None


def accepted_syntaxes(assoc: Association) -> dict[str, set[UID]]:
    """For each SOP class, the transfer syntaxes we may send it in on this association."""
    accepted: dict[str, set[UID]] = {}
    for context in assoc.accepted_contexts:
        if context.as_scu:
            accepted.setdefault(str(context.abstract_syntax), set()).add(UID(context.transfer_syntax[0]))
    return accepted


def sendable(ds: Dataset, syntaxes: set[UID]) -> Dataset:
    """`ds` as stored if one of `syntaxes` can carry it, else decompressed if one of them is uncompressed.

    Anything else is returned as stored: its C-STORE then finds no context and fails, and the
    C-GET or C-MOVE counts the failure.
    """
    stored = stored_syntax(ds)
    if stored is None or stored in syntaxes or not stored.is_compressed:
        return ds
    if not syntaxes & set(UNCOMPRESSED):
        return ds
    plain = copy.deepcopy(ds)  # decompress() changes elements in place: never those of the index
    plain.decompress(generate_instance_uid=False)
    return plain


def no_delay(event: evt.Event) -> None:
    """An EVT_CONN_OPEN handler: Nagle off, for every connection the sample servers open or accept.

    pynetdicom leaves Nagle on: each small message would wait on the peer's delayed ACK (measured
    through the service: a C-MOVE of 14 instances took 0.66 s with Nagle on, 0.09 s with it off).
    """
    sock = getattr(event.assoc.dul.socket, "socket", None)
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
