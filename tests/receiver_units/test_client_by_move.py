"""`DicomClient.get` against a PACS without C-GET: C-MOVE to the service's own receiver.

The PACS here is a pynetdicom C-MOVE SCP in this process that offers no C-GET and moves the
instances it is given to the receiver (pynetdicom names itself as the Move Originator). The real
PACS (Orthanc, dcmqrscp) are in tests/receiver/; this covers the client's choices and limits.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian
from pynetdicom import AE, build_context, evt
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    CTImageStorage,
    StudyRootQueryRetrieveInformationModelMove,
)

from dicom_mcp.dimse.client import DicomClient
from dicom_mcp.dimse.receiver import Receiver
from dicom_mcp.errors import GetNotOffered, PacsError, RetrieveTooLarge
from dicom_mcp.model.retrievals import Keys
from dicom_mcp.model.target import Target
from dicom_mcp.pacs.backend import ClientConfig
from dicom_mcp.pacs.budget import Budget
from testbeds.faults import stop_server
from tests.receiver_units.peers import LOOPBACK, SERVICE_AE, ct, wire_bytes
from tests.servers import stop_promptly

pytestmark = pytest.mark.anyio

MOVER_AE = "MOVER"
CAP = 2**16  # the smallest DICOM_MCP_MAX_RETRIEVE_BYTES


@dataclass
class Mover:
    """A PACS with C-MOVE and no C-GET, moving `instances` to the receiver on every C-MOVE."""

    port: int
    instances: list[Dataset] = field(default_factory=list)
    moves: int = 0
    associations: int = 0


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver(SERVICE_AE, LOOPBACK, 0, frozenset({LOOPBACK}), CAP)
    receiver.start()
    try:
        yield receiver
    finally:
        stop_promptly(receiver)


@pytest.fixture
def mover(receiver: Receiver) -> Iterator[Mover]:
    ae = AE(ae_title=MOVER_AE)
    ae.add_supported_context(StudyRootQueryRetrieveInformationModelMove)
    found = Mover(0)

    def on_move(event: evt.Event) -> Iterator[Any]:
        found.moves += 1
        yield LOOPBACK, receiver.port, {"contexts": [build_context(CTImageStorage, ExplicitVRLittleEndian)]}
        yield len(found.instances)
        for ds in found.instances:
            yield 0xFF00, ds

    def on_requested(event: evt.Event) -> None:
        found.associations += 1

    handlers: list[Any] = [(evt.EVT_C_MOVE, on_move), (evt.EVT_REQUESTED, on_requested)]
    server = ae.start_server((LOOPBACK, 0), block=False, evt_handlers=handlers)
    assert server is not None
    found.port = int(server.server_address[1])
    try:
        yield found
    finally:
        stop_server(server)


def client(receiver: Receiver | None) -> DicomClient:
    config = ClientConfig(SERVICE_AE, dimse_timeout=10, query_deadline=15, association_lifetime=0)
    return DicomClient(config, receiver=receiver)


def keys_of(instances: list[Dataset]) -> Keys:
    first = instances[0]
    one = first.SOPInstanceUID if len(instances) == 1 else None
    return Keys(first.StudyInstanceUID, first.SeriesInstanceUID, one)


async def read(dicom: DicomClient, mover: Mover, retrieve: str, budget: int = CAP) -> list[bytes]:
    target = Target(LOOPBACK, mover.port, MOVER_AE, name="archive", retrieve=retrieve)  # type: ignore[arg-type]
    got = await dicom.get(target, keys_of(mover.instances), [CTImageStorage], Budget(budget))
    return [instance.data for instance in got]


async def test_move_reads_the_instance_through_the_receiver(receiver: Receiver, mover: Mover) -> None:
    mover.instances = [ct(payload=1000)]
    assert await read(client(receiver), mover, "move") == [wire_bytes(mover.instances[0])]
    assert receiver.refusals == {}
    assert len(receiver.waits) == 0


async def test_auto_falls_back_to_move_where_c_get_is_not_offered_and_remembers(
    receiver: Receiver, mover: Mover
) -> None:
    mover.instances = [ct(payload=1000)]
    dicom = client(receiver)
    assert await read(dicom, mover, "auto") == [wire_bytes(mover.instances[0])]
    assert (mover.associations, mover.moves) == (2, 1)  # a C-GET refused, then the C-MOVE
    assert await read(dicom, mover, "auto") == [wire_bytes(mover.instances[0])]
    assert (mover.associations, mover.moves) == (3, 2)  # straight to C-MOVE


async def test_get_never_falls_back_to_move(receiver: Receiver, mover: Mover) -> None:
    mover.instances = [ct()]
    with pytest.raises(PacsError) as caught:
        await read(client(receiver), mover, "get")
    assert not isinstance(caught.value, GetNotOffered)  # the PACS's own refusal, as it came
    assert mover.moves == 0


async def test_auto_without_a_receiver_says_what_to_set(mover: Mover) -> None:
    mover.instances = [ct()]
    with pytest.raises(GetNotOffered, match="DICOM_MCP_RECEIVER_PORT"):
        await read(client(None), mover, "auto")
    assert mover.moves == 0


async def test_instances_past_the_budget_together_are_too_large(receiver: Receiver, mover: Mover) -> None:
    mover.instances = [ct(payload=CAP // 2), ct(payload=CAP // 2), ct(payload=CAP // 2)]
    with pytest.raises(RetrieveTooLarge):
        await read(client(receiver), mover, "move")


async def test_one_instance_larger_than_the_cap_is_too_large(receiver: Receiver, mover: Mover) -> None:
    # As for C-GET: the read says "too large", not that the PACS's C-MOVE failed.
    mover.instances = [ct(payload=4 * CAP)]
    with pytest.raises(RetrieveTooLarge):
        await read(client(receiver), mover, "move")
