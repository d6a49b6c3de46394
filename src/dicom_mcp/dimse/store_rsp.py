"""C-STORE responses written as bytes, in front of pynetdicom's `DIMSEServiceProvider.send_msg`.

Every instance a PACS sends us (to the receiver, or on a C-GET's association) is answered with a
C-STORE-RSP, and the PACS sends the next instance only once that answer has arrived. pynetdicom
builds each answer as a pydicom Dataset and encodes it element by element: about 0.2 ms on the
path of every instance, a tenth of what a series of small-to-middling instances takes per
instance here. `send_msg` writes a plain C-STORE-RSP (status, message ID, SOP class and
instance; no error comment or offending element) itself, byte for byte as pynetdicom would (the
tests compare the two), and hands it to the upper layer as pynetdicom does. Anything else, or an
association where someone listens for EVT_DIMSE_SENT, goes through pynetdicom's own code.
`reactor.install()` puts it in place, behind the original's fingerprint.
"""

from __future__ import annotations

import struct
from typing import Any, Final

from pynetdicom import evt
from pynetdicom.dimse import DIMSEServiceProvider
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.pdu_primitives import P_DATA

ORIGINAL: Final = DIMSEServiceProvider.send_msg
C_STORE_RSP: Final = 0x8001
NO_DATA_SET: Final = 0x0101
# Implicit VR Little Endian element headers (group 0000): tag, then a 4-byte length.
_UL_HEADER: Final = struct.Struct("<HHL")
_US: Final = struct.Struct("<HHLH")


def command_set(message_id: int, status: int, sop_class: str, sop_instance: str) -> bytes | None:
    """A C-STORE-RSP's command set, as pynetdicom encodes it; None if a value cannot be written so."""
    if not (0 <= message_id <= 0xFFFF and 0 <= status <= 0xFFFF):
        return None
    try:
        sop_class_bytes, sop_instance_bytes = _uid(sop_class), _uid(sop_instance)
    except UnicodeEncodeError:
        return None
    body = b"".join(
        (
            _UL_HEADER.pack(0x0000, 0x0002, len(sop_class_bytes)) + sop_class_bytes,
            _US.pack(0x0000, 0x0100, 2, C_STORE_RSP),
            _US.pack(0x0000, 0x0120, 2, message_id),
            _US.pack(0x0000, 0x0800, 2, NO_DATA_SET),
            _US.pack(0x0000, 0x0900, 2, status),
            _UL_HEADER.pack(0x0000, 0x1000, len(sop_instance_bytes)) + sop_instance_bytes,
        )
    )
    return _UL_HEADER.pack(0x0000, 0x0000, 4) + struct.pack("<L", len(body)) + body


def _uid(value: str) -> bytes:
    encoded = value.encode("ascii")
    return encoded + b"\x00" if len(encoded) % 2 else encoded


def send_msg(self: DIMSEServiceProvider, primitive: Any, context_id: int) -> None:
    """pynetdicom's `send_msg`, with a plain C-STORE-RSP written as bytes (see the module docstring)."""
    encoded = _plain_response(primitive) if not self.assoc.get_handlers(evt.EVT_DIMSE_SENT) else None
    if encoded is None or 0 < self.maximum_pdu_size < len(encoded) + 7:  # it would take two PDUs
        ORIGINAL(self, primitive, context_id)
        return
    pdata = P_DATA()
    pdata.presentation_data_value_list.append((context_id, b"\x03" + encoded))  # one last fragment
    self.dul.send_pdu(pdata)


def _plain_response(primitive: Any) -> bytes | None:
    """The command set of `primitive` if it is a C-STORE-RSP with only the usual fields, else None."""
    if not isinstance(primitive, C_STORE) or primitive.MessageIDBeingRespondedTo is None:
        return None
    if primitive.ErrorComment is not None or primitive.OffendingElement is not None:
        return None
    status, sop_class = primitive.Status, primitive.AffectedSOPClassUID
    sop_instance = primitive.AffectedSOPInstanceUID
    if not isinstance(status, int) or not sop_class or not sop_instance:
        return None
    return command_set(int(primitive.MessageIDBeingRespondedTo), status, str(sop_class), str(sop_instance))
