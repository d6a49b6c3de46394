"""Fingerprints of the pynetdicom methods dimse/ replaces, wraps or relies on.

`reactor.install()` replaces some of pynetdicom 3.0.4's methods with copies changed in one
respect each, and other modules rely on internals it does not replace. A pynetdicom whose
originals differ from what those copies were made from (by the SHA-256 of their source) is
refused at start-up with a clear message (`diverged`), rather than run with a silently
diverged copy. `ORIGINALS` keeps pynetdicom's own methods, as imported, before any is replaced.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Mapping
from typing import Any, Final

from pynetdicom.association import Association
from pynetdicom.dimse import DIMSEServiceProvider
from pynetdicom.dimse_messages import DIMSEMessage
from pynetdicom.dul import DULServiceProvider
from pynetdicom.transport import AssociationSocket

# SHA-256 (first 16 hex digits) of pynetdicom 3.0.4's source of each method that reactor.py,
# pdata.py or store_rsp.py replaces, wraps or calls from their copies, or whose work the C-FIND
# response reader (scu/responses.py) does: receive_primitive, decode_msg, message_to_primitive.
EXPECTED_SOURCES: Final = {
    "run_reactor": "e3a10eb3a0931e48",
    "send_pdu": "7cbce5da8594124e",
    "kill_dul": "5ceccf8dd01c2072",
    "stop_dul": "28a7e0be126e7b30",
    "_process_recv_primitive": "4c0ebbb3e646e35e",
    "_is_transport_event": "8725ed03bb8fbdef",
    "_read_pdu_data": "19f2d4e38c13c835",
    "receive_primitive": "5f99c86b14a15cef",
    "decode_msg": "f51c777e841a76be",
    "message_to_primitive": "f8f43d34e43450ef",
    "DIMSEServiceProvider.send_msg": "a839cf2fb46976d9",  # C-STORE responses (store_rsp.py)
    # What the rest of dimse/ relies on without replacing it: the socket's close and read
    # (replaced and wrapped at install), Association's `_kill` and `_is_paused` flags
    # (scu/association.py) and the DIMSE provider's `msg_queue` (scu/exchange.py, responses.py).
    "AssociationSocket._shutdown_socket": "e2b2628faa81a578",
    "AssociationSocket.recv": "6bc20a33b1b7cfe7",
    "Association.release": "c7d713502b77d702",
    "Association._run_reactor": "f28838c5559e462a",
    "Association.kill": "8f9713666a7f4cff",
    "DIMSEServiceProvider.__init__": "bbecd186810e7700",
    "DIMSEServiceProvider.get_msg": "890e3e04283f5aeb",
}
_DIMSE_METHODS: Final = {
    "receive_primitive": DIMSEServiceProvider,
    "decode_msg": DIMSEMessage,
    "message_to_primitive": DIMSEMessage,
}
_CLASSES: Final = {
    cls.__name__: cls for cls in (AssociationSocket, Association, DIMSEServiceProvider, DULServiceProvider)
}


def owner(name: str) -> tuple[type, str]:
    """The class that defines the method `name` ("Class.method", or a bare DUL/DIMSE method)."""
    if "." in name:
        owner, method = name.split(".", 1)
        return _CLASSES[owner], method
    return _DIMSE_METHODS.get(name, DULServiceProvider), name


# pynetdicom's own methods, as imported (before install() replaces some of them).
ORIGINALS: Final = {name: getattr(*owner(name)) for name in EXPECTED_SOURCES}


def diverged(methods: Mapping[str, Any] | None = None) -> list[str]:
    """The names of `methods` (default: pynetdicom's originals) whose source is not as expected."""
    methods = ORIGINALS if methods is None else methods
    changed = []
    for name, digest in EXPECTED_SOURCES.items():
        try:
            source = inspect.getsource(methods[name])
        except (KeyError, OSError, TypeError):
            source = ""
        if hashlib.sha256(source.encode()).hexdigest()[:16] != digest:
            changed.append(name)
    return changed


def qualified(name: str) -> str:
    """`name` as Class.method, for messages."""
    cls, method = owner(name)
    return f"{cls.__name__}.{method}"
