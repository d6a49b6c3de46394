"""Reused associations give the same answers as fresh ones, within the same limits.

Correctness only; bench/ measures the speed.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import anyio
import pytest
from pydicom.dataset import Dataset
from pynetdicom import AE, evt

from dicom_mcp.dimse.client import ClientConfig, DicomClient
from dicom_mcp.dimse.scu import VERIFICATION
from dicom_mcp.errors import PacsTimeout
from dicom_mcp.model.levels import Level
from dicom_mcp.model.queries import PATIENT_ROOT_FIND, STUDY_ROOT_FIND, Query, build_query
from dicom_mcp.model.target import Target
from testbeds.faults import stop_server
from testbeds.net import AssociationSampler, connections_to, own_sockets_to
from testbeds.pacs import Catalog, RunningPacs
from testbeds.poll import until_async

pytestmark = pytest.mark.anyio


@dataclass
class CountingPacs:
    """An in-process SCP that answers `int(PatientID)` studies and counts its associations."""

    port: int = 0
    opened: int = 0
    current: int = 0
    most: int = 0
    released: int = 0
    requests: int = 0
    misbehave: str = ""  # "abort" or "hang" on a request that is not an association's first
    per_association: dict[int, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    gone: threading.Event = field(default_factory=threading.Event)

    def target(self) -> Target:
        return Target("127.0.0.1", self.port, "COUNTING")

    def on_established(self, event: evt.Event) -> None:
        with self.lock:
            self.opened += 1
            self.current += 1
            self.most = max(self.most, self.current)

    def on_ended(self, event: evt.Event) -> None:
        with self.lock:
            self.current -= 1
            self.released += event.event is evt.EVT_RELEASED

    def on_find(self, event: evt.Event) -> Iterator[tuple[int, Dataset | None]]:
        with self.lock:
            self.requests += 1
            seen = self.per_association[id(event.assoc)] = self.per_association.get(id(event.assoc), 0) + 1
        if seen > 1 and self.misbehave == "abort":
            event.assoc.abort()
            return
        if seen > 1 and self.misbehave == "hang":
            self.gone.wait(10)
            return
        for n in range(int(event.identifier.PatientID)):
            if event.is_cancelled:
                yield 0xFE00, None
                return
            match = Dataset()
            match.QueryRetrieveLevel = "STUDY"
            match.StudyInstanceUID = f"1.2.3.{n}"
            match.PatientID = event.identifier.PatientID
            yield 0xFF00, match
        yield 0x0000, None


@contextmanager
def counting_pacs() -> Iterator[CountingPacs]:
    pacs = CountingPacs()
    ae = AE(ae_title="COUNTING")
    for context in (VERIFICATION, PATIENT_ROOT_FIND, STUDY_ROOT_FIND):
        ae.add_supported_context(context)
    handlers: list[Any] = [
        (evt.EVT_ESTABLISHED, pacs.on_established),
        (evt.EVT_RELEASED, pacs.on_ended),
        (evt.EVT_ABORTED, pacs.on_ended),
        (evt.EVT_C_FIND, pacs.on_find),
    ]
    server = ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=handlers)
    assert server is not None
    pacs.port = server.server_address[1]
    try:
        yield pacs
    finally:
        pacs.gone.set()
        stop_server(server)


def studies(count: int) -> Query:
    return build_query(Level.STUDY, {"PatientID": ("patient_id", str(count))}, "minimal", None, None)


async def expect_studies(client: DicomClient, pacs: CountingPacs, count: int, limit: int = 100) -> None:
    result = await client.find(pacs.target(), studies(count), limit)
    assert [m["StudyInstanceUID"] for m in result.matches] == [f"1.2.3.{n}" for n in range(min(count, limit))]
    assert result.truncated is (count > limit)


CONFIG = ClientConfig(
    "MCPSCU", dimse_timeout=1.5, query_deadline=5, max_associations=3, association_lifetime=30
)

OpenClient = Callable[[ClientConfig], DicomClient]


@pytest.fixture
def open_client() -> Iterator[OpenClient]:
    """Make clients that are closed after the test, kept associations and all."""
    made: list[DicomClient] = []

    def make(config: ClientConfig) -> DicomClient:
        made.append(DicomClient(config))
        return made[-1]

    yield make
    for client in made:
        client.close()


async def test_sequential_finds_share_one_association(open_client: OpenClient) -> None:
    client = open_client(CONFIG)
    with counting_pacs() as pacs:
        for count in (3, 0, 5, 1, 2):
            await expect_studies(client, pacs, count)
        assert (pacs.opened, pacs.requests) == (1, 5)
        assert (client.open_associations, client.idle_associations) == (0, 1)
        await anyio.to_thread.run_sync(client.close)
        await until_async(lambda: pacs.released == 1)


async def test_a_truncated_find_leaves_the_association_reusable(open_client: OpenClient) -> None:
    client = open_client(CONFIG)
    with counting_pacs() as pacs:
        await expect_studies(client, pacs, 50, limit=2)  # C-CANCEL, then the PACS's final Cancel status
        await expect_studies(client, pacs, 4)
        assert pacs.opened == 1


async def test_an_idle_association_is_released_at_the_end_of_its_lifetime(open_client: OpenClient) -> None:
    client = open_client(ClientConfig("MCPSCU", association_lifetime=0.2))
    with counting_pacs() as pacs:
        await expect_studies(client, pacs, 2)
        await until_async(lambda: pacs.released == 1 and client.idle_associations == 0)


async def test_a_busy_association_is_replaced_at_the_end_of_its_lifetime(open_client: OpenClient) -> None:
    # So that a PACS serving each association on one of a few threads gets to serve the others.
    client = open_client(ClientConfig("MCPSCU", association_lifetime=0.2))
    with counting_pacs() as pacs:
        give_up = time.monotonic() + 5
        while pacs.opened < 3 and time.monotonic() < give_up:
            await expect_studies(client, pacs, 1)
        assert pacs.opened == 3 and pacs.most == 1


async def test_without_reuse_each_query_gets_an_association_released_after_its_answer(
    open_client: OpenClient,
) -> None:
    client = open_client(ClientConfig("MCPSCU", association_lifetime=0))
    with counting_pacs() as pacs:
        for count in (2, 0, 3):
            await expect_studies(client, pacs, count)
        assert client.idle_associations == 0
        await until_async(lambda: pacs.released == 3)
        assert (pacs.opened, pacs.most) == (3, 1)


@pytest.mark.parametrize("lifetime", [0, 30])
async def test_never_more_associations_than_the_limit_idle_and_closing_ones_included(
    lifetime: float, open_client: OpenClient
) -> None:
    client = open_client(ClientConfig("MCPSCU", max_associations=3, association_lifetime=lifetime))
    with counting_pacs() as pacs:
        async with anyio.create_task_group() as group:
            for n in range(60):
                group.start_soon(expect_studies, client, pacs, n % 7, 4)
        # Counted by the PACS, from establishment to release or abort: 60 queries reach the limit
        # and never pass it, whether associations are kept idle (30) or released at once (0).
        assert pacs.most == 3
        await anyio.to_thread.run_sync(client.close)
        await until_async(
            lambda: pacs.current == 0 and connections_to(pacs.port) == 0, what="every association released"
        )


async def test_an_idle_association_the_pacs_dropped_is_replaced(open_client: OpenClient) -> None:
    client = open_client(CONFIG)
    with counting_pacs() as pacs:
        await expect_studies(client, pacs, 2)
        pacs.misbehave = "abort"  # the PACS drops the kept association when it is used again
        await expect_studies(client, pacs, 3)  # retried once, on a new association
        assert (pacs.opened, pacs.requests) == (2, 3)


async def test_a_timeout_on_a_reused_association_is_reported_and_it_is_not_reused(
    open_client: OpenClient,
) -> None:
    client = open_client(replace(CONFIG, dimse_timeout=0.5))  # the hang waits it out
    with counting_pacs() as pacs:
        await expect_studies(client, pacs, 2)
        pacs.misbehave = "hang"
        with pytest.raises(PacsTimeout, match="DIMSE timeout"):
            await expect_studies(client, pacs, 2)
        pacs.misbehave = ""
        await expect_studies(client, pacs, 3)
        assert pacs.opened == 2


async def test_echo_opens_and_releases_its_own_association(open_client: OpenClient) -> None:
    client = open_client(CONFIG)
    with counting_pacs() as pacs:
        await expect_studies(client, pacs, 1)
        started = time.monotonic()
        round_trip_ms = await client.echo(pacs.target())
        assert 0 < round_trip_ms <= (time.monotonic() - started) * 1000
        assert (pacs.opened, client.idle_associations) == (2, 1)
        await until_async(lambda: pacs.released == 1)


async def test_associations_send_without_nagle_delays(open_client: OpenClient) -> None:
    client = open_client(CONFIG)
    with counting_pacs() as pacs:
        await expect_studies(client, pacs, 1)  # its association is kept for reuse
        with own_sockets_to(pacs.port) as kept:  # this process's end of it, found through /proc
            assert len(kept) == 1
            assert kept[0].getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


async def test_no_association_keeps_a_reactor_thread(open_client: OpenClient) -> None:
    client = open_client(CONFIG)
    with counting_pacs() as pacs:
        for count in range(5):
            await expect_studies(client, pacs, count)
        # Only the DUL thread reads the socket, and only the operation reads the DIMSE queue.
        assert not [t for t in threading.enumerate() if t.name.startswith("RequestorThread")]


@pytest.mark.pacs
async def test_reused_associations_answer_right_under_load(
    orthanc: RunningPacs, pacs_catalog: Catalog
) -> None:
    """16 workers, 640 queries on at most 16 kept associations; every answer checked.

    The test bed's Orthanc serves 4 associations at a time: kept ones must make way for the
    others (within the DIMSE timeout) or the queries waiting behind them fail.
    """
    client = DicomClient(
        ClientConfig("MCPSCU", max_associations=16, dimse_timeout=10, association_lifetime=0.5)
    )
    target = Target(orthanc.host, orthanc.port, orthanc.ae_title)
    # A small series: Orthanc reads every instance's file before its first answer.
    series = next(s for s in pacs_catalog.series if 3 < s.instance_count < 100)
    series_uids = {i.sop_uid for i in pacs_catalog.instances_for_series(series.series_uid)}
    wrong: list[str] = []

    async def worker(n: int) -> None:
        for i in range(40):
            patient = pacs_catalog.patients[(n + i) % len(pacs_catalog.patients)]
            if i % 4 == 3:  # truncated: C-CANCEL mid-stream, then the association is reused
                query = build_query(
                    Level.INSTANCE,
                    {
                        "SeriesInstanceUID": ("s", series.series_uid),
                        "StudyInstanceUID": ("t", series.study_uid),
                    },
                    "minimal",
                    None,
                    None,
                )
                result = await client.find(target, query, 2)
                uids = [m["SOPInstanceUID"] for m in result.matches]
                if len(set(uids)) != 2 or not result.truncated or not set(uids) <= series_uids:
                    wrong.append(f"truncated: {len(uids)}")
                continue
            query = build_query(Level.STUDY, {"PatientID": ("p", patient.patient_id)}, None, None, None)
            result = await client.find(target, query, 100)
            expected = {s.study_uid for s in pacs_catalog.studies_for_patient(patient.patient_id)}
            uids = [m["StudyInstanceUID"] for m in result.matches]
            if len(uids) != len(expected) or set(uids) != expected or result.truncated:
                wrong.append(patient.patient_id)

    # Counted by the kernel at this process's end (Orthanc's end lingers after a release).
    with AssociationSampler(partial(connections_to, orthanc.port)) as sampler:
        async with anyio.create_task_group() as group:
            for n in range(16):
                group.start_soon(worker, n)
    assert wrong == []
    assert 0 < sampler.maximum <= 16
    await anyio.to_thread.run_sync(client.close)
    await until_async(lambda: connections_to(orthanc.port) == 0, what="every association released")
