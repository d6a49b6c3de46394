"""C-FIND responses read from their bytes give what pynetdicom's own decoding gives, and only for them.

The command sets are encoded by pynetdicom itself; the last test runs whole C-FINDs whose
identifiers arrive in many fragments, read by pynetdicom's own `send_c_find`, so the primitives
the reactor builds are checked by pynetdicom's consumer too.
"""

from __future__ import annotations

from collections.abc import Iterator
from io import BytesIO

import pytest
from pydicom.dataset import Dataset
from pynetdicom import AE, evt
from pynetdicom.dimse_messages import C_ECHO_RSP, C_FIND_RQ, C_FIND_RSP
from pynetdicom.dimse_primitives import C_ECHO, C_FIND
from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind  # type: ignore[attr-defined]

from dicom_mcp.dimse import commands, reactor
from dicom_mcp.dimse.scu import responses
from testbeds.faults import FaultPacs, fault_pacs

STUDY_ROOT = "1.2.840.10008.5.1.4.1.2.2.1"
IDENTIFIER = b"\x08\x00\x52\x00\x06\x00\x00\x00STUDY "


def encoded_command(primitive: object, message: object) -> bytes:
    """The command set bytes pynetdicom sends for `primitive` (its first fragment, whole)."""
    message.primitive_to_message(primitive)  # type: ignore[attr-defined]
    p_data = next(iter(message.encode_msg(1, 16382)))  # type: ignore[attr-defined]
    _, data = p_data.presentation_data_value_list[0]
    assert data[0] & 3 == 3  # a command set, whole, in one fragment
    return bytes(data[1:])


def find_rsp(status: int, identifier: bytes | None = IDENTIFIER, **extra: object) -> C_FIND:
    rsp = C_FIND()
    rsp.MessageIDBeingRespondedTo = 7
    rsp.AffectedSOPClassUID = STUDY_ROOT
    rsp.Status = status
    if identifier is not None:
        rsp.Identifier = BytesIO(identifier)
    for name, value in extra.items():
        setattr(rsp, name, value)
    return rsp


@pytest.mark.parametrize(
    ("status", "data_set"), [(0xFF00, True), (0xFF01, True), (0x0000, False), (0xFE00, False)]
)
def test_a_c_find_response_reads_as_pynetdicom_encoded_it(status: int, data_set: bool) -> None:
    command = encoded_command(find_rsp(status, IDENTIFIER if data_set else None), C_FIND_RSP())
    assert commands.find_response(command) == commands.FindResponse(7, status, STUDY_ROOT, data_set)


def test_anything_else_is_left_to_pynetdicom() -> None:
    request = C_FIND()
    request.MessageID, request.AffectedSOPClassUID, request.Priority = 7, STUDY_ROOT, 2
    request.Identifier = BytesIO(IDENTIFIER)
    echo = C_ECHO()
    echo.MessageIDBeingRespondedTo, echo.AffectedSOPClassUID, echo.Status = 1, "1.2.840.10008.1.1", 0
    failure = find_rsp(0xA700, None, ErrorComment="out of resources")
    plain = encoded_command(find_rsp(0xFF00), C_FIND_RSP())
    for other in (
        encoded_command(request, C_FIND_RQ()),
        encoded_command(echo, C_ECHO_RSP()),
        encoded_command(failure, C_FIND_RSP()),  # one element more: pynetdicom reads the comment
        plain[:-1],  # cut short
        b"\x08\x00" + plain[2:],  # an element outside group 0000
        plain + plain[-10:],  # a repeated element
    ):
        assert commands.find_response(other) is None


def long_study(n: int) -> Dataset:
    ds = Dataset()
    ds.QueryRetrieveLevel = "STUDY"
    ds.StudyInstanceUID = f"1.2.3.{n}"
    ds.StudyDescription = f"STUDY {n} " + "X" * 900  # several P-DATA fragments at a small PDU size
    return ds


def many(event: evt.Event, pacs: FaultPacs) -> Iterator[tuple[int, Dataset | None]]:
    for n in range(25):
        yield 0xFF00, long_study(n)
    yield 0x0000, None


@pytest.mark.parametrize("max_pdu", [0, 256])  # unlimited, and every identifier in 4 or more fragments
def test_pynetdicoms_own_c_find_reads_the_reactors_responses(
    max_pdu: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    reactor.configure_pynetdicom()
    delivered: list[int] = []
    deliver = responses._deliver

    def counted(dimse: object, done: object) -> None:
        delivered.append(1)
        deliver(dimse, done)  # type: ignore[arg-type]

    monkeypatch.setattr(responses, "_deliver", counted)
    ae = AE(ae_title="COMMANDS")
    ae.maximum_pdu_size = max_pdu
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    query = Dataset()
    query.QueryRetrieveLevel, query.StudyInstanceUID, query.StudyDescription = "STUDY", "", ""
    with fault_pacs(many) as pacs:
        assoc = ae.associate(pacs.host, pacs.port, ae_title=pacs.ae_title)
        assert assoc.is_established
        # Stop pynetdicom's requestor reactor, as the service does: it may take a response off the
        # queue between its pause checks, and the C-FIND would then wait for it in vain.
        assoc._kill = True
        assoc.join(5)
        assoc._is_paused = True
        try:
            answers = list(assoc.send_c_find(query, StudyRootQueryRetrieveInformationModelFind))
        finally:
            assoc.release()
    statuses = [int(status.Status) for status, _ in answers]
    assert statuses == [0xFF00] * 25 + [0x0000]
    found = [(str(ds.StudyInstanceUID), str(ds.StudyDescription)) for _, ds in answers[:-1]]
    assert found == [(f"1.2.3.{n}", f"STUDY {n} " + "X" * 900) for n in range(25)]
    assert len(delivered) == 26  # every response was read from its bytes, none by pynetdicom
