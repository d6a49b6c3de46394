"""The PACS beds without C-GET refuse it the way the receiver's tests assume, and still C-MOVE.

Measured: Orthanc 1.10 with `DicomAlwaysAllowGet: false` and the caller's modality at
`"AllowGet": false` accepts the association and its C-GET context, then answers the C-GET-RQ with
an A-ABORT (source: service user) and no C-GET-RSP, whoever calls. dcmqrscp --disable-get
accepts the association and rejects the C-GET presentation context (abstract syntax not
supported). Both send a C-MOVE's instance to a destination they know, carrying the caller's AE
title and the C-MOVE's Message ID as its Move Originator.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydicom.dataset import Dataset
from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, build_role, evt
from pynetdicom.association import Association
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.pdu import A_ABORT_RQ
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    CTImageStorage,
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
)

from testbeds.faults import FAULT_SERIES_UID, FAULT_STUDY_UID, stop_server
from testbeds.images import write
from testbeds.move_faults import ct
from testbeds.pacs import RunningPacs
from testbeds.pacs.dcmqrscp import run_dcmqrscp
from testbeds.pacs.orthanc import run_orthanc
from testbeds.poll import until
from testbeds.store import Destination

UID = f"{FAULT_SERIES_UID}.1"
MOVE_ID = 4242
ABSTRACT_SYNTAX_NOT_SUPPORTED = 0x03


@dataclass
class Receiver:
    """A storage SCP under the caller's AE title that notes each C-STORE's Move Originator."""

    destination: Destination
    stores: list[tuple[str, str, int]]  # (SOP Instance UID, Move Originator AE, its Message ID)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    ae = AE("MCPSCU")
    ae.add_supported_context(CTImageStorage, ALL_TRANSFER_SYNTAXES)
    stores: list[tuple[str, str, int]] = []

    def on_store(event: evt.Event) -> int:
        request = event.request
        assert isinstance(request, C_STORE)  # the only event handled here
        stores.append(
            (
                str(request.AffectedSOPInstanceUID),
                str(request.MoveOriginatorApplicationEntityTitle).strip(),
                int(request.MoveOriginatorMessageID or 0),
            )
        )
        return 0x0000

    server = ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)])
    assert server is not None
    try:
        yield Receiver(Destination("MCPSCU", "127.0.0.1", int(server.server_address[1])), stores)
    finally:
        stop_server(server)


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    directory = tmp_path / "dataset"
    directory.mkdir()
    write(ct(UID), directory / "1.dcm")
    return directory


def identifier() -> Dataset:
    ds = Dataset()
    ds.QueryRetrieveLevel = "IMAGE"
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID = FAULT_STUDY_UID, FAULT_SERIES_UID, UID
    return ds


def associate_for_c_get(pacs: RunningPacs, calling_ae: str, pdus: list[str]) -> Association:
    """An association proposing C-GET (study root) and CT storage with us as its SCP; the PDUs it
    receives go to `pdus` (their type, and an A-ABORT's source and reason)."""

    def on_pdu(event: evt.Event) -> None:
        pdu = event.pdu
        if isinstance(pdu, A_ABORT_RQ):
            pdus.append(f"A_ABORT_RQ {pdu.source} {pdu.reason_diagnostic}")
        else:
            pdus.append(type(pdu).__name__)

    ae = AE(calling_ae)
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
    ae.add_requested_context(CTImageStorage)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 10
    return ae.associate(
        pacs.host,
        pacs.port,
        ae_title=pacs.ae_title,
        ext_neg=[build_role(CTImageStorage, scp_role=True)],
        evt_handlers=[(evt.EVT_PDU_RECV, on_pdu)],
    )


def c_move(pacs: RunningPacs, to: str) -> list[int]:
    """C-MOVE UID to the AE title `to`, as MCPSCU with Message ID MOVE_ID; every response status."""
    ae = AE("MCPSCU")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelMove)
    assoc = ae.associate(pacs.host, pacs.port, ae_title=pacs.ae_title)
    assert assoc.is_established
    try:
        responses = assoc.send_c_move(
            identifier(), to, StudyRootQueryRetrieveInformationModelMove, msg_id=MOVE_ID
        )
        return [int(status.Status) for status, _ in responses]
    finally:
        assoc.release()


@pytest.mark.parametrize("calling_ae", ["MCPSCU", "STRANGER"])
def test_orthanc_without_c_get_aborts_a_c_get_and_still_moves(
    receiver: Receiver, dataset: Path, tmp_path: Path, calling_ae: str
) -> None:
    with run_orthanc(
        tmp_path / "orthanc", dataset, move_destinations=[receiver.destination], disable_get=True
    ) as pacs:
        pdus: list[str] = []
        assoc = associate_for_c_get(pacs, calling_ae, pdus)
        assert assoc.is_established
        assert StudyRootQueryRetrieveInformationModelGet in {
            cx.abstract_syntax for cx in assoc.accepted_contexts
        }
        responses = list(assoc.send_c_get(identifier(), StudyRootQueryRetrieveInformationModelGet))
        # One empty status, no instance: pynetdicom's words for "aborted before any answer".
        assert [(len(status), instance) for status, instance in responses] == [(0, None)]
        until(lambda: assoc.is_aborted, what="the abort")
        # Source 0: the service user (Orthanc itself), reason 0 (not significant); no P-DATA before it.
        assert pdus == ["A_ASSOCIATE_AC", "A_ABORT_RQ 0 0"]
        assert f'Rejected Get request from remote DICOM modality with AET "{calling_ae}"' in pacs.log_tail(
            200
        )
        assert c_move(pacs, "MCPSCU") == [0x0000]  # no Pending response before the final one
    assert receiver.stores == [(UID, "MCPSCU", MOVE_ID)]


def test_dcmqrscp_with_disable_get_rejects_the_c_get_context_and_still_moves(
    receiver: Receiver, dataset: Path, tmp_path: Path
) -> None:
    with run_dcmqrscp(
        tmp_path / "dcmqrscp", dataset, move_destinations=[receiver.destination], disable_get=True
    ) as pacs:
        assoc = associate_for_c_get(pacs, "MCPSCU", [])
        assert assoc.is_established
        try:
            (get,) = [
                cx
                for cx in assoc.rejected_contexts
                if cx.abstract_syntax == StudyRootQueryRetrieveInformationModelGet
            ]
            assert get.result == ABSTRACT_SYNTAX_NOT_SUPPORTED
        finally:
            assoc.release()
        assert c_move(pacs, "MCPSCU") == [0xFF00, 0x0000]
    assert receiver.stores == [(UID, "MCPSCU", MOVE_ID)]
