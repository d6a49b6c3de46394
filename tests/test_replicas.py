"""Two real service processes sharing one real Redis: any replica serves any handle, restarts lose
nothing, and a Redis outage is a clear error (never the default PACS) that heals by itself."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import httpx
import pytest
from mcp import Client

from testbeds.clients import call_error, call_ok, mcp_client
from testbeds.pacs import RunningPacs
from testbeds.redis import RedisServer, run_redis
from testbeds.service import RunningService, run_service, service_env

pytestmark = pytest.mark.anyio

STORE_DOWN = "the session store is unavailable"
RECOVERY_DEADLINE = 10.0


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("replicas")


@pytest.fixture(scope="module")
def shared_redis(workdir: Path) -> Iterator[RedisServer]:
    """This module's own redis-server: the outage test stops it."""
    with run_redis(workdir) as server:
        yield server


@pytest.fixture(scope="module")
def env(shared_redis: RedisServer, orthanc: RunningPacs, dcmqrscp: RunningPacs) -> dict[str, str]:
    return service_env(
        {
            "DICOM_HOST": orthanc.host,
            "DICOM_PORT": str(orthanc.port),
            "DICOM_CALLED_AE_TITLE": orthanc.ae_title,
        },
        allowed_targets=f"127.0.0.1:{dcmqrscp.port}",
        session_store=shared_redis.url,
    )


@pytest.fixture(scope="module")
def replicas(workdir: Path, env: dict[str, str]) -> Iterator[tuple[RunningService, RunningService]]:
    with run_service(workdir, env) as a, run_service(workdir, env) as b:
        yield a, b


@pytest.fixture
def redis_up(shared_redis: RedisServer) -> RedisServer:
    """The shared Redis, running again if an earlier test left it stopped."""
    if not shared_redis.is_running():
        shared_redis.start()
    return shared_redis


async def configure(client: Client, pacs: RunningPacs) -> str:
    result = await call_ok(
        client, "configure_dicom_server", host="127.0.0.1", port=pacs.port, ae_title=pacs.ae_title
    )
    return str(result["session"])


async def echo_ae(client: Client, **arguments: object) -> str:
    result = await call_ok(client, "verify_connection", **arguments)
    assert result["success"] is True, result
    return str(result["ae_title"])


async def status(service: RunningService, path: str) -> int:
    async with httpx.AsyncClient(timeout=5) as http:
        return (await http.get(f"{service.base_url}{path}")).status_code


async def wait_ready(*services: RunningService) -> None:
    """Poll /readyz of each service until all answer 200; print how long each took."""
    started = time.monotonic()
    pending = {service.base_url: service for service in services}
    recovered: list[str] = []
    polls = 0
    while pending:
        assert time.monotonic() - started < RECOVERY_DEADLINE, f"still not ready: {sorted(pending)}"
        polls += 1
        for url, service in list(pending.items()):
            if await status(service, "/readyz") == 200:
                recovered.append(f"{(time.monotonic() - started) * 1000:.0f} ms")
                del pending[url]
        await anyio.sleep(0.02)
    print(f"/readyz 200 again on every replica after {', '.join(recovered)} ({polls} poll rounds)")


@contextmanager
def stopwatch(label: str) -> Iterator[None]:
    started = time.monotonic()
    yield
    print(f"{label}: {(time.monotonic() - started) * 1000:.0f} ms")


async def test_a_handle_made_on_one_replica_works_on_the_other(
    replicas: tuple[RunningService, RunningService],
    redis_up: RedisServer,
    orthanc: RunningPacs,
    dcmqrscp: RunningPacs,
) -> None:
    a, b = replicas
    async with mcp_client(a.mcp_url, "modern") as on_a, mcp_client(b.mcp_url, "modern") as on_b:
        handle = await configure(on_a, dcmqrscp)
        assert await echo_ae(on_b, session=handle) == dcmqrscp.ae_title
        found = await call_ok(on_b, "query_patients", name_pattern="SMITH*", session=handle)
        matches = found["matches"]
        assert isinstance(matches, list)
        assert {m["PatientID"] for m in matches} == {"PAT001", "PAT002"}
        assert await echo_ae(on_b) == orthanc.ae_title  # no handle: the default PACS, as ever


async def test_a_handle_outlives_the_replica_that_made_it(
    workdir: Path, env: dict[str, str], redis_up: RedisServer, dcmqrscp: RunningPacs
) -> None:
    with run_service(workdir, env) as first:
        async with mcp_client(first.mcp_url, "modern") as client:
            handle = await configure(client, dcmqrscp)
        assert first.stop() == 0
    with run_service(workdir, env) as second:
        async with mcp_client(second.mcp_url, "modern") as client:
            assert await echo_ae(client, session=handle) == dcmqrscp.ae_title


async def test_redis_outage_is_a_clear_error_and_heals_by_itself(
    replicas: tuple[RunningService, RunningService],
    redis_up: RedisServer,
    orthanc: RunningPacs,
    dcmqrscp: RunningPacs,
) -> None:
    a, b = replicas
    async with mcp_client(a.mcp_url, "modern") as on_a, mcp_client(b.mcp_url, "modern") as on_b:
        handle = await configure(on_a, dcmqrscp)
        assert await echo_ae(on_b, session=handle) == dcmqrscp.ae_title

        redis_up.stop()
        with stopwatch("first tool call with a handle after Redis stopped (error)"):
            assert STORE_DOWN in await call_error(on_b, "verify_connection", session=handle)
        assert STORE_DOWN in await call_error(on_a, "query_patients", name_pattern="SMITH*", session=handle)
        assert STORE_DOWN in await call_error(
            on_b, "configure_dicom_server", host="127.0.0.1", port=dcmqrscp.port, ae_title=dcmqrscp.ae_title
        )
        # An older client's connection may carry a configuration, so it needs the store too.
        async with mcp_client(a.mcp_url, "legacy") as legacy:
            assert STORE_DOWN in await call_error(legacy, "verify_connection")
        # A call without a handle needs no session, but its association needs a slot shared
        # through Redis, so that the replicas together stay within the PACS's limit.
        assert STORE_DOWN in await call_error(on_a, "verify_connection")
        for replica in (a, b):
            assert await status(replica, "/readyz") == 503
            assert await status(replica, "/healthz") == 200

        redis_up.start()
        await wait_ready(a, b)

        with stopwatch("configure on A + query on B after recovery"):
            fresh = await configure(on_a, dcmqrscp)
            found = await call_ok(on_b, "query_patients", name_pattern="SMITH*", session=fresh)
        assert found["count"] == 2
        # This Redis keeps nothing across a restart: the old handle is now unknown, never the default.
        message = await call_error(on_b, "verify_connection", session=handle)
        assert "unknown or expired session handle" in message


async def test_a_frozen_redis_costs_a_call_at_most_the_store_timeout(
    replicas: tuple[RunningService, RunningService], redis_up: RedisServer, dcmqrscp: RunningPacs
) -> None:
    a, b = replicas
    async with mcp_client(b.mcp_url, "modern") as client:
        handle = await configure(client, dcmqrscp)
        redis_up.pause()  # open connections, no answers: a hung host or a partition
        try:
            started = time.monotonic()
            assert STORE_DOWN in await call_error(client, "verify_connection", session=handle)
            frozen_call = time.monotonic() - started
            assert await status(a, "/readyz") == 503
        finally:
            redis_up.resume()
        print(f"tool call with a handle while Redis was frozen: error after {frozen_call * 1000:.0f} ms")
        assert frozen_call < 3.0  # RedisStore's 2 s socket timeout, not a hang
        await wait_ready(a, b)
        # Frozen is not restarted: Redis kept its data, so the handle works again.
        assert await echo_ae(client, session=handle) == dcmqrscp.ae_title
