"""The retrieval test beds work as their tests assume: the fault SCP's C-GET and the move destination."""

from __future__ import annotations

from pydicom.dataset import Dataset
from pynetdicom import AE, build_role, evt
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    CTImageStorage,
    StudyRootQueryRetrieveInformationModelGet,
)

from testbeds.faults import (
    FAULT_SERIES_UID,
    FAULT_STUDY_UID,
    ct_instance,
    fault_pacs,
    get_sends,
    instance_found,
)
from testbeds.store import run_store_scp


def test_the_fault_scp_serves_a_healthy_retrieve() -> None:
    ae = AE("TESTGET")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
    ae.add_requested_context(CTImageStorage)
    received: list[str] = []

    def on_store(event: evt.Event) -> int:
        received.append(str(event.request.AffectedSOPInstanceUID))
        return 0x0000

    identifier = Dataset()
    identifier.QueryRetrieveLevel = "SERIES"
    identifier.StudyInstanceUID, identifier.SeriesInstanceUID = FAULT_STUDY_UID, FAULT_SERIES_UID
    with fault_pacs(instance_found, get_handler=get_sends(3)) as healthy:
        assoc = ae.associate(
            healthy.host,
            healthy.port,
            ae_title=healthy.ae_title,
            ext_neg=[build_role(CTImageStorage, scp_role=True)],
            evt_handlers=[(evt.EVT_C_STORE, on_store)],
        )
        assert assoc.is_established
        responses = list(assoc.send_c_get(identifier, StudyRootQueryRetrieveInformationModelGet))
        assoc.release()
    assert int(responses[-1][0].Status) == 0x0000
    assert received == [f"{FAULT_SERIES_UID}.{n}" for n in (1, 2, 3)]
    assert healthy.get_requests == 1


def test_the_move_destination_notes_each_instance_by_sender() -> None:
    with run_store_scp() as store:
        ae = AE("SENDER")
        ae.add_requested_context(CTImageStorage, ct_instance(1).file_meta.TransferSyntaxUID)
        to = store.destination
        assoc = ae.associate(to.host, to.port, ae_title=to.ae_title)
        assert assoc.is_established
        statuses = [int(assoc.send_c_store(ct_instance(n)).Status) for n in (1, 2)]
        assoc.release()
        assert statuses == [0x0000, 0x0000]
        assert store.received("SENDER") == [f"{FAULT_SERIES_UID}.1", f"{FAULT_SERIES_UID}.2"]
        assert store.received("OTHER") == []
        store.clear()
        assert store.received("SENDER") == []
