"""P-DATA-TF PDUs read without copies: the values DIMSE gets are views of the PDU as it was read,
the same values pynetdicom's own decoder finds, and a PDU that does not add up is refused."""

from __future__ import annotations

import struct
from collections.abc import Iterator

import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from pynetdicom import AE, evt
from pynetdicom.dul import DULServiceProvider
from pynetdicom.pdu import P_DATA_TF
from pynetdicom.sop_class import CTImageStorage  # type: ignore[attr-defined]

from dicom_mcp.dimse import pdata, reactor
from testbeds.faults import stop_server


def pdu_body(*values: tuple[int, bytes]) -> bytearray:
    """A P-DATA-TF PDU's body: one item per (context ID, value)."""
    body = bytearray()
    for context_id, value in values:
        body += struct.pack(">LB", len(value) + 1, context_id) + value
    return body


def test_the_values_are_pynetdicoms_own_as_views_of_the_pdu() -> None:
    values = ((1, b"\x03command"), (3, b"\x02" + bytes(range(256)) * 100), (5, b"\x00"))
    body = pdu_body(*values)
    ours = pdata.values_of(body)
    theirs = P_DATA_TF()
    theirs.decode(bytes(struct.pack(">BBL", 4, 0, len(body)) + body))
    assert [(c, bytes(v)) for c, v in ours] == theirs.to_primitive().presentation_data_value_list
    assert all(isinstance(v, memoryview) and v.obj is body for _, v in ours)  # nothing was copied


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(pdu_body((1, b"\x03abc"))[:-1], id="an item longer than its PDU"),
        pytest.param(pdu_body((1, b"\x03abc")) + b"\x00\x00", id="a trailing item cut short"),
        pytest.param(bytearray(struct.pack(">LB", 0, 1)), id="an item without room for its context ID"),
    ],
)
def test_a_pdu_whose_items_do_not_add_up_is_refused(body: bytearray) -> None:
    with pytest.raises(pdata.Malformed):
        pdata.values_of(body)


@pytest.fixture(params=[16_382, 1024 * 1024], ids=["16 KiB PDUs", "1 MiB PDUs"])
def store_scp(request: pytest.FixtureRequest) -> Iterator[tuple[int, list[bytes]]]:
    """A Storage SCP on a free loopback port that takes PDUs of at most the parameter's bytes,
    keeping the dataset bytes of each C-STORE."""
    reactor.configure_pynetdicom()
    received: list[bytes] = []

    def on_store(event: evt.Event) -> int:
        received.append(event.request.DataSet.getvalue())
        return 0x0000

    ae = AE(ae_title="PDATASCP")
    ae.maximum_pdu_size = request.param
    ae.add_supported_context(CTImageStorage, ExplicitVRLittleEndian)
    server = ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)])
    try:
        yield server.server_address[1], received
    finally:
        stop_server(server)


def instance(size: int) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, generate_uid()
    ds.PixelData = bytes(range(256)) * (size // 256)
    ds["PixelData"].VR = "OB"
    return ds


def test_instances_arrive_byte_for_byte(store_scp: tuple[int, list[bytes]]) -> None:
    """C-STOREs split over many PDUs, or each in one, reach the SCP's handler as they were sent."""
    assert DULServiceProvider._read_pdu_data is pdata.read_pdu_data
    port, received = store_scp
    scu = AE(ae_title="PDATASCU")
    scu.add_requested_context(CTImageStorage, ExplicitVRLittleEndian)
    assoc = scu.associate("127.0.0.1", port)
    assert assoc.is_established
    sent = [instance(500_000), instance(2_000), instance(300_000)]
    try:
        assert [assoc.send_c_store(ds).Status for ds in sent] == [0x0000] * 3
    finally:
        assoc.release()
    assert received == [_encoded(ds) for ds in sent]


def _encoded(ds: Dataset) -> bytes:
    buffer = DicomBytesIO()
    buffer.is_little_endian, buffer.is_implicit_VR = True, False
    write_dataset(buffer, ds)
    return buffer.getvalue()


def test_an_association_listening_for_pdus_gets_pynetdicoms_own(store_scp: tuple[int, list[bytes]]) -> None:
    """Where someone listens for EVT_PDU_RECV, PDUs are decoded by pynetdicom, as the listener expects."""
    port, received = store_scp
    seen: list[object] = []
    scu = AE(ae_title="PDATASCU")
    scu.add_requested_context(CTImageStorage, ExplicitVRLittleEndian)
    assoc = scu.associate("127.0.0.1", port, evt_handlers=[(evt.EVT_PDU_RECV, lambda e: seen.append(e.pdu))])
    assert assoc.is_established
    assert assoc.send_c_store(instance(1_000)).Status == 0x0000
    assoc.release()
    assert any(isinstance(pdu, P_DATA_TF) for pdu in seen)
    assert len(received) == 1
