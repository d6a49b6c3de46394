"""50 clients at once: every answer right, never more associations than allowed, /healthz always quick."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from functools import partial

import anyio
import httpx
import pytest

from testbeds.clients import call_ok, mcp_client
from testbeds.net import AssociationSampler, StillOpen, connection_inodes_to
from testbeds.pacs import Catalog, RunningPacs
from testbeds.service import RunningService, run_service, service_env

pytestmark = pytest.mark.anyio

CLIENTS = 50
ASSOCIATION_LIMIT = 4


class HealthProbe:
    """Times /healthz, in a thread, while a load runs."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.answers: list[tuple[int, float]] = []  # (status, seconds)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def __enter__(self) -> HealthProbe:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join()

    def run(self) -> None:
        with httpx.Client(timeout=5) as http:
            while not self.stopping.is_set():
                started = time.perf_counter()
                status = http.get(f"{self.base_url}/healthz").status_code
                self.answers.append((status, time.perf_counter() - started))
                self.stopping.wait(0.01)


@pytest.fixture(scope="module")
def service(orthanc: RunningPacs, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    env = service_env(
        {
            "DICOM_HOST": orthanc.host,
            "DICOM_PORT": str(orthanc.port),
            "DICOM_CALLED_AE_TITLE": orthanc.ae_title,
        },
        max_associations=str(ASSOCIATION_LIMIT),
    )
    with run_service(tmp_path_factory.mktemp("load"), env) as running:
        yield running


async def test_fifty_concurrent_clients(
    service: RunningService, orthanc: RunningPacs, pacs_catalog: Catalog
) -> None:
    patients = [p.patient_id for p in pacs_catalog.patients]
    wrong: list[str] = []

    async def one_client(n: int) -> None:
        patient_id = patients[n % len(patients)]
        expected = {s.study_uid for s in pacs_catalog.studies_for_patient(patient_id)}
        async with mcp_client(service.mcp_url, "modern" if n % 2 else "legacy") as client:
            for _ in range(3):
                result = await call_ok(client, "query_studies", patient_id=patient_id)
                if {m["StudyInstanceUID"] for m in result["matches"]} != expected:
                    wrong.append(patient_id)

    # Counted at the service's end (the PACS's end lingers a moment after a release), and only the
    # service's sockets, so that nothing else on the machine is counted.
    associations = StillOpen(partial(connection_inodes_to, orthanc.port, service.process.pid))
    started = time.perf_counter()
    with AssociationSampler(associations) as sampler, HealthProbe(service.base_url) as health:
        async with anyio.create_task_group() as tg:
            for n in range(CLIENTS):
                tg.start_soon(one_client, n)
    elapsed = time.perf_counter() - started

    worst_health = max(latency for _, latency in health.answers)
    print(
        f"\n{CLIENTS} clients x 3 queries in {elapsed:.2f}s; max associations at the PACS "
        f"{sampler.maximum} (limit {ASSOCIATION_LIMIT}); /healthz probes {len(health.answers)}, "
        f"worst {worst_health * 1000:.0f} ms"
    )
    assert wrong == []
    assert 1 <= sampler.maximum <= ASSOCIATION_LIMIT
    assert all(status == 200 for status, _ in health.answers)
    assert worst_health < 1.0
