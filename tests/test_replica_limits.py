"""Limits that hold for a whole deployment: real service processes sharing one real Redis.

- Associations: three replicas with DICOM_MCP_MAX_ASSOCIATIONS=4 never hold more than 4 open to
  one PACS together, and a replica killed while holding slots frees them within the lease time.
- Requests: a caller spread over replicas is rate-limited as one.
- Sessions: the per-caller caps count every replica's sessions.
"""

from __future__ import annotations

import re
import signal
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import suppress
from pathlib import Path

import anyio
import httpx
import pytest
from pydicom.dataset import Dataset
from pynetdicom import evt

from testbeds.clients import call_error, call_ok, mcp_client
from testbeds.faults import FaultPacs, fault_pacs, study
from testbeds.net import AssociationSampler, StillOpen, connection_inodes_to
from testbeds.pacs import Catalog, RunningPacs
from testbeds.redis import RedisServer, run_redis
from testbeds.service import RunningService, run_service, service_env

pytestmark = pytest.mark.anyio

LIMIT = 4
CLIENTS_PER_REPLICA = 12
LEASE_SECONDS = 2.0


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("replica-limits")


@pytest.fixture(scope="module")
def shared_redis(workdir: Path) -> Iterator[RedisServer]:
    with run_redis(workdir) as server:
        yield server


def pacs_env(pacs: RunningPacs | FaultPacs) -> dict[str, str]:
    return {"DICOM_HOST": pacs.host, "DICOM_PORT": str(pacs.port), "DICOM_CALLED_AE_TITLE": pacs.ae_title}


@pytest.fixture(scope="module")
def three_replicas(
    workdir: Path, shared_redis: RedisServer, orthanc: RunningPacs
) -> Iterator[list[RunningService]]:
    env = service_env(
        pacs_env(orthanc),
        session_store=shared_redis.url,
        max_associations=str(LIMIT),
        association_lease_seconds=str(LEASE_SECONDS),
    )
    with run_service(workdir, env) as a, run_service(workdir, env) as b, run_service(workdir, env) as c:
        yield [a, b, c]


async def metric(service: RunningService, name: str) -> float:
    async with httpx.AsyncClient(timeout=5) as http:
        text = (await http.get(f"{service.base_url}/metrics")).text
    found = re.search(rf"^{name} ([0-9.e+]+)$", text, re.MULTILINE)
    assert found, f"{name} not in /metrics"
    return float(found.group(1))


async def test_three_replicas_never_hold_more_associations_than_the_pacs_allows(
    three_replicas: list[RunningService], orthanc: RunningPacs, pacs_catalog: Catalog
) -> None:
    patients = [p.patient_id for p in pacs_catalog.patients]
    wrong: list[str] = []
    answered = 0

    async def one_client(service: RunningService, n: int) -> None:
        nonlocal answered
        patient_id = patients[n % len(patients)]
        expected = {s.study_uid for s in pacs_catalog.studies_for_patient(patient_id)}
        async with mcp_client(service.mcp_url, "modern") as client:
            result = await call_ok(client, "query_studies", patient_id=patient_id)
        if {m["StudyInstanceUID"] for m in result["matches"]} != expected:
            wrong.append(patient_id)
        answered += 1

    def open_at_pacs() -> set[str]:
        return set().union(*(connection_inodes_to(orthanc.port, s.process.pid) for s in three_replicas))

    started = time.perf_counter()
    with AssociationSampler(StillOpen(open_at_pacs)) as sampler:
        async with anyio.create_task_group() as tg:
            for service in three_replicas:
                for n in range(CLIENTS_PER_REPLICA):
                    tg.start_soon(one_client, service, n)
    waits = [await metric(s, "dicom_mcp_association_slot_waits_total") for s in three_replicas]
    print(
        f"\n3 replicas x {CLIENTS_PER_REPLICA} concurrent queries in {time.perf_counter() - started:.2f}s; "
        f"most associations open at the PACS at once: {sampler.maximum} (limit {LIMIT}); "
        f"waits for a slot per replica: {waits}"
    )
    assert (answered, wrong) == (3 * CLIENTS_PER_REPLICA, [])
    assert 1 <= sampler.maximum <= LIMIT
    assert sum(waits) > 0  # the limit was reached, so the shared slots did the bounding


async def reaches(read: Callable[[], Awaitable[float]], value: float, within: float = 10.0) -> None:
    with anyio.fail_after(within):
        while await read() < value:
            await anyio.sleep(0.05)


def holding(release: threading.Event) -> object:
    """A C-FIND handler: queries for patient HOLD get their answer only once `release` is set."""

    def handler(event: evt.Event, pacs: FaultPacs) -> Iterator[tuple[int, Dataset | None]]:
        if str(event.identifier.get("PatientID", "")) == "HOLD":
            release.wait(60)
        yield 0xFF00, study(1)
        yield 0x0000, None

    return handler


async def test_a_killed_replicas_slots_go_to_the_others_within_the_lease_time(
    workdir: Path, shared_redis: RedisServer
) -> None:
    release = threading.Event()
    with fault_pacs(holding(release), max_associations=20) as pacs:  # type: ignore[arg-type]
        env = service_env(
            pacs_env(pacs),
            session_store=shared_redis.url,
            max_associations="2",
            association_lifetime="0",
            association_lease_seconds=str(LEASE_SECONDS),
        )
        try:
            with run_service(workdir, env) as doomed, run_service(workdir, env) as survivor:
                async with anyio.create_task_group() as tg:

                    async def hold() -> None:
                        with suppress(Exception):  # its replica is killed under it
                            async with mcp_client(doomed.mcp_url, "modern") as client:
                                await client.call_tool("query_studies", {"patient_id": "HOLD"})

                    for _ in range(2):
                        tg.start_soon(hold)
                    await reaches(lambda: metric(doomed, "dicom_mcp_association_leases"), 2)

                    async with mcp_client(survivor.mcp_url, "modern") as client:
                        result: dict[str, object] = {}

                        async def ask() -> None:
                            result.update(await call_ok(client, "query_studies", patient_id="OTHER"))

                        tg.start_soon(ask)  # it waits: the doomed replica holds both slots
                        await reaches(lambda: metric(survivor, "dicom_mcp_association_slot_waiters"), 1)
                        doomed.process.send_signal(signal.SIGKILL)
                        killed = time.monotonic()
                        with anyio.fail_after(LEASE_SECONDS + 5):
                            while not result:
                                await anyio.sleep(0.02)
                        took = time.monotonic() - killed
                    tg.cancel_scope.cancel()  # the doomed replica's clients lost their connection
            print(f"\nthe survivor got a killed replica's slot {took * 1000:.0f} ms after SIGKILL")
            assert result["count"] == 1
            assert took <= LEASE_SECONDS + 1.0
        finally:
            release.set()


@pytest.fixture(scope="module")
def rate_limited(
    workdir: Path, shared_redis: RedisServer, orthanc: RunningPacs
) -> Iterator[list[RunningService]]:
    shared_redis.flushdb()  # earlier tests' requests came from the same caller (loopback)
    env = service_env(pacs_env(orthanc), session_store=shared_redis.url, rate_limit_per_minute="10")
    with run_service(workdir, env) as a, run_service(workdir, env) as b:
        yield [a, b]


async def test_a_caller_spread_over_replicas_is_rate_limited_as_one(
    rate_limited: list[RunningService],
) -> None:
    request = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    statuses: list[int] = []
    retry_after: list[int] = []
    async with httpx.AsyncClient(timeout=5) as http:
        for n in range(14):
            service = rate_limited[n % 2]
            response = await http.post(
                service.mcp_url,
                json=request,
                headers={
                    "Accept": "application/json, text/event-stream",
                    "Mcp-Protocol-Version": "2026-07-28",
                },
            )
            statuses.append(response.status_code)
            if response.status_code == 429:
                retry_after.append(int(response.headers["Retry-After"]))
    assert statuses[:10].count(429) == 0
    assert statuses[10:] == [429] * 4
    assert all(1 <= seconds <= 60 for seconds in retry_after)


@pytest.fixture(scope="module")
def capped(workdir: Path, shared_redis: RedisServer, orthanc: RunningPacs) -> Iterator[list[RunningService]]:
    env = service_env(
        pacs_env(orthanc),
        session_store=shared_redis.url,
        allowed_targets=f"{orthanc.host}:{orthanc.port}",
        max_sessions_per_principal="3",
        http_max_sessions_per_principal="2",
    )
    with run_service(workdir, env) as a, run_service(workdir, env) as b:
        yield [a, b]


async def test_new_sessions_are_capped_across_replicas(
    capped: list[RunningService], orthanc: RunningPacs
) -> None:
    target = {"host": orthanc.host, "port": orthanc.port, "ae_title": orthanc.ae_title}
    async with (
        mcp_client(capped[0].mcp_url, "modern") as on_a,
        mcp_client(capped[1].mcp_url, "modern") as on_b,
    ):
        for client in (on_a, on_b, on_a):
            await call_ok(client, "configure_dicom_server", **target)
        message = await call_error(on_b, "configure_dicom_server", **target)
    assert "too many sessions: at most 3 per caller" in message


async def test_open_mcp_sessions_are_capped_across_replicas(capped: list[RunningService]) -> None:
    async with (
        mcp_client(capped[0].mcp_url, "legacy"),
        mcp_client(capped[1].mcp_url, "legacy"),
        httpx.AsyncClient(timeout=5) as http,
    ):
        response = await http.post(
            capped[0].mcp_url,
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": "third", "version": "1"},
                },
            },
            headers={"Accept": "application/json, text/event-stream"},
        )
    assert response.status_code == 429
    assert "too many open MCP sessions" in response.text
