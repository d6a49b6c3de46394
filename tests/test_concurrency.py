"""50 clients at once: every answer right, never more associations than allowed, /healthz always quick."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest

from tests.pacs import Catalog, RunningPacs
from tests.service import RunningService, call_ok, mcp_client, run_service, service_env

pytestmark = pytest.mark.anyio

CLIENTS = 50
ASSOCIATION_LIMIT = 4


def associations_to(port: int, pid: int) -> int:
    """ESTABLISHED connections from process `pid` to `port`: the service's end of each association.

    Counted at the service's end because the PACS's end lingers a moment after a release, and
    only this process's sockets, so that nothing else on the machine is counted.
    """
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            cols = row.split()
            if int(cols[2].rsplit(":", 1)[1], 16) == port and cols[3] == "01" and cols[9] in inodes:
                count += 1
    return count


class Sampler:
    """Samples, in a thread, the PACS's open associations and /healthz latency while a load runs."""

    def __init__(self, pacs: RunningPacs, service: RunningService) -> None:
        self.pacs, self.service = pacs, service
        self.max_associations = 0
        self.health: list[tuple[int, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with httpx.Client(timeout=5) as http:
            while not self._stop.is_set():
                self.max_associations = max(
                    self.max_associations, associations_to(self.pacs.port, self.service.process.pid)
                )
                started = time.perf_counter()
                status = http.get(f"{self.service.base_url}/healthz").status_code
                self.health.append((status, time.perf_counter() - started))
                self._stop.wait(0.01)


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

    started = time.perf_counter()
    with Sampler(orthanc, service) as sampler:
        async with anyio.create_task_group() as tg:
            for n in range(CLIENTS):
                tg.start_soon(one_client, n)
    elapsed = time.perf_counter() - started

    worst_health = max(latency for _, latency in sampler.health)
    print(
        f"\n{CLIENTS} clients x 3 queries in {elapsed:.2f}s; max associations at the PACS "
        f"{sampler.max_associations} (limit {ASSOCIATION_LIMIT}); /healthz probes {len(sampler.health)}, "
        f"worst {worst_health * 1000:.0f} ms"
    )
    assert wrong == []
    assert 1 <= sampler.max_associations <= ASSOCIATION_LIMIT
    assert all(status == 200 for status, _ in sampler.health)
    assert worst_health < 1.0
