"""PDUs read off the socket with P-DATA-TF's values left where they arrived.

pynetdicom reads a PDU and then copies it whole four times before DIMSE sees its values: the
header and body are joined, the join is copied to bytes for an event no one here listens to,
the PDU's variable part is sliced out, and each value is sliced out of that. A 512 KiB
instance was copied eight times on its way into memory, and a series of 2,000 of them spent
more time in memcpy than in anything else the receiver does.

`read_pdu_data` is pynetdicom's `DULServiceProvider._read_pdu_data`, in its order and with its
events, except that a P-DATA-TF PDU's values reach DIMSE as memoryviews of the one buffer the
PDU was read into (`_Values`), which DIMSE then copies once into the message it assembles.
Every other PDU, or any PDU on an association where someone listens for EVT_DATA_RECV or
EVT_PDU_RECV, takes pynetdicom's own way. `reactor.install()` puts it in place, behind the
fingerprint of the original.
"""

from __future__ import annotations

import logging
import struct
from typing import Any, Final

from pynetdicom import evt
from pynetdicom.dul import DULServiceProvider
from pynetdicom.pdu_primitives import P_DATA

P_DATA_TF: Final = 0x04
PDU_TYPES: Final = frozenset(range(0x01, 0x08))

logger = logging.getLogger(__name__)


class Malformed(ValueError):
    """A P-DATA-TF PDU whose items do not add up to its length."""


class _Values:
    """A received P-DATA-TF PDU, as `fsm.DT_2` uses it: something to turn into a P-DATA primitive."""

    __slots__ = ("_values",)

    def __init__(self, values: list[tuple[int, memoryview]]) -> None:
        self._values = values

    def to_primitive(self) -> P_DATA:
        primitive = P_DATA()
        primitive._presentation_data_value_list = self._values  # type: ignore[assignment]
        return primitive


def values_of(body: bytearray) -> list[tuple[int, memoryview]]:
    """The presentation data values of a P-DATA-TF PDU's body (after its 6-byte header), as views.

    Raises:
        Malformed: an item runs past the body, or is too short to hold its context ID.
    """
    view = memoryview(body)
    values: list[tuple[int, memoryview]] = []
    offset, end = 0, len(view)
    while offset < end:
        if offset + 5 > end:
            raise Malformed("a presentation data value item is cut short")
        (length,) = struct.unpack_from(">L", view, offset)
        if length < 1 or offset + 4 + length > end:
            raise Malformed("a presentation data value item runs past its PDU")
        values.append((view[offset + 4], view[offset + 5 : offset + 4 + length]))
        offset += 4 + length
    return values


def read_pdu_data(self: DULServiceProvider) -> None:
    """pynetdicom's `_read_pdu_data`, keeping P-DATA-TF values where they were read (see above)."""
    transport: Any = self.socket
    try:
        header = transport.recv(6)
    except (OSError, TimeoutError):
        logger.warning("DICOM connection closed before a whole PDU was received")
        self.event_queue.put("Evt17")
        return
    try:
        pdu_type, _, pdu_length = struct.unpack(">BBL", header)
    except struct.error:
        self.event_queue.put("Evt17")
        return
    if pdu_type not in PDU_TYPES:
        logger.warning("DICOM peer sent an unknown PDU type 0x%02X", pdu_type)
        self.event_queue.put("Evt19")
        return
    try:
        body = transport.recv(pdu_length)
    except (OSError, TimeoutError):
        logger.warning("DICOM connection closed before a whole PDU was received")
        self.event_queue.put("Evt17")
        return
    if len(body) != pdu_length:
        logger.warning("DICOM peer's PDU is shorter than its length says")
        self.event_queue.put("Evt17")
        return
    listened = self.assoc.get_handlers(evt.EVT_DATA_RECV) or self.assoc.get_handlers(evt.EVT_PDU_RECV)
    if pdu_type != P_DATA_TF or listened:
        _decode_as_pynetdicom(self, header + body)
        return
    try:
        pdu = _Values(values_of(body))
    except Malformed:
        logger.warning("DICOM peer sent a P-DATA-TF PDU that cannot be decoded")
        self.event_queue.put("Evt19")
        return
    self.event_queue.put("Evt10")
    self._recv_pdu.put(pdu)  # type: ignore[arg-type]


def _decode_as_pynetdicom(self: DULServiceProvider, bytestream: bytearray) -> None:
    """The rest of pynetdicom's `_read_pdu_data`, for a PDU read whole."""
    try:
        pdu, event = self._decode_pdu(bytestream)
        self.event_queue.put(event)
    except Exception:  # as pynetdicom: any failure to decode is an invalid PDU
        logger.warning("DICOM peer sent a PDU that cannot be decoded")
        self.event_queue.put("Evt19")
        return
    self._recv_pdu.put(pdu)
