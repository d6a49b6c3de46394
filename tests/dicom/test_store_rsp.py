"""C-STORE responses written as bytes: the same bytes pynetdicom writes, pynetdicom's own way for
anything else, and a real Storage SCP's answers reaching the sender as they should."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from pynetdicom import AE, evt
from pynetdicom.dimse import DIMSEServiceProvider
from pynetdicom.dimse_messages import C_STORE_RSP
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.dsutils import encode
from pynetdicom.sop_class import CTImageStorage  # type: ignore[attr-defined]

from dicom_mcp.dimse import reactor, store_rsp
from testbeds.faults import stop_server


def response(message_id: int, status: int, sop_class: str, sop_instance: str) -> C_STORE:
    rsp = C_STORE()
    rsp.MessageID = rsp.MessageIDBeingRespondedTo = message_id
    rsp.AffectedSOPClassUID, rsp.AffectedSOPInstanceUID = sop_class, sop_instance
    rsp.Status = status
    return rsp


def pynetdicoms(rsp: C_STORE) -> bytes:
    message = C_STORE_RSP()
    message.primitive_to_message(rsp)
    return bytes(encode(message.command_set, True, True))


@pytest.mark.parametrize("message_id", [1, 255, 0xFFFF])
@pytest.mark.parametrize("status", [0x0000, 0x0124, 0xA700, 0xB000, 0xC000])
@pytest.mark.parametrize(
    "sop_instance", ["1.2.3", "1.2.3.4", "2.25." + "9" * 59, "1.3.6.1.4.1.9590.100.1.2.123456789012"]
)
def test_the_bytes_are_pynetdicoms(message_id: int, status: int, sop_instance: str) -> None:
    for sop_class in (str(CTImageStorage), "1.2.840.10008.5.1.4.1.1.88.11"):  # odd and even lengths
        rsp = response(message_id, status, sop_class, sop_instance)
        assert store_rsp.command_set(message_id, status, sop_class, sop_instance) == pynetdicoms(rsp)


def test_anything_but_a_plain_answer_is_left_to_pynetdicom() -> None:
    plain = response(1, 0, str(CTImageStorage), "1.2.3")
    assert store_rsp._plain_response(plain) is not None
    commented = response(1, 0xC000, str(CTImageStorage), "1.2.3")
    commented.ErrorComment = "cannot understand"
    request = C_STORE()
    request.MessageID, request.AffectedSOPClassUID, request.AffectedSOPInstanceUID = 1, CTImageStorage, "1.2"
    request.Priority = 0
    for primitive in (commented, request, object()):
        assert store_rsp._plain_response(primitive) is None


@pytest.fixture
def store_scp() -> Iterator[tuple[int, list[int]]]:
    """A Storage SCP on a free loopback port answering each C-STORE with the next status asked for."""
    reactor.configure_pynetdicom()
    statuses: list[int] = []

    def on_store(event: evt.Event) -> int:
        return statuses.pop(0)

    ae = AE(ae_title="STORERSP")
    ae.add_supported_context(CTImageStorage, ExplicitVRLittleEndian)
    server = ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)])
    try:
        yield server.server_address[1], statuses
    finally:
        stop_server(server)


def instance() -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, generate_uid()
    ds.PatientID = "STORE-RSP-TEST"
    return ds


def test_a_real_scps_answers_reach_the_sender(store_scp: tuple[int, list[int]]) -> None:
    """The SCP answers through the byte writer, and pynetdicom on the sending side takes each answer
    (it checks the message ID it answers) with its status."""
    assert DIMSEServiceProvider.send_msg is store_rsp.send_msg
    port, statuses = store_scp
    statuses.extend([0x0000, 0xA700, 0xB007])
    scu = AE(ae_title="STORESCU")
    scu.add_requested_context(CTImageStorage, ExplicitVRLittleEndian)
    assoc = scu.associate("127.0.0.1", port)
    assert assoc.is_established
    try:
        sent = [instance() for _ in range(3)]
        answers: list[Any] = [assoc.send_c_store(ds) for ds in sent]
    finally:
        assoc.release()
    assert [a.Status for a in answers] == [0x0000, 0xA700, 0xB007]
    assert statuses == []
