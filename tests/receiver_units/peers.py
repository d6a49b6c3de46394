"""What the receiver's unit tests send it: small CT instances, and a Storage SCU that C-STOREs them.

The SCU is pynetdicom's, as a PACS moving instances would use it: each C-STORE may carry the
Move Originator AE title and Message ID of the C-MOVE it belongs to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from pynetdicom import AE
from pynetdicom.dsutils import encode
from pynetdicom.sop_class import CTImageStorage  # type: ignore[attr-defined]

LOOPBACK = "127.0.0.1"
PACS_AE = "MOVINGPACS"  # the AE title of the PACS that moves (a waiter's `source`)
SERVICE_AE = "MCPSCU"  # the service's own AE title: the receiver's, and the Move Originator it sets


def ct(sop_uid: str | None = None, payload: int = 16) -> Dataset:
    """A CT instance with `payload` bytes of pixel data and no patient in it."""
    ds = Dataset()
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = sop_uid or generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality = "CT"
    ds.add_new(0x7FE00010, "OB", bytes(range(256)) * (payload // 256) + bytes(payload % 256))
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return ds


def wire_bytes(ds: Dataset) -> bytes:
    """The dataset as a C-STORE carries it in Explicit VR Little Endian."""
    data = encode(ds, False, True)
    assert data is not None
    return data


@dataclass(frozen=True)
class Sent:
    """One C-STORE to send: the instance, and its Move Originator (AE title, Message ID), if any."""

    ds: Dataset
    originator: str | None = None
    message_id: int | None = None


def store(port: int, sends: Sequence[Sent], *, called_ae: str = SERVICE_AE) -> list[int] | None:
    """C-STORE each instance to the receiver on 127.0.0.1:`port`, on one association.

    Returns each C-STORE's status, or None when the association was not accepted.
    """
    ae = AE(ae_title=PACS_AE)
    ae.add_requested_context(CTImageStorage, ExplicitVRLittleEndian)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 10
    assoc = ae.associate(LOOPBACK, port, ae_title=called_ae)
    if not assoc.is_established:
        return None
    statuses = []
    try:
        for sent in sends:
            answer = assoc.send_c_store(
                sent.ds, originator_aet=sent.originator, originator_id=sent.message_id
            )
            statuses.append(int(answer.Status) if answer else -1)  # -1: no answer at all
    finally:
        if assoc.is_established:
            assoc.release()
    return statuses
