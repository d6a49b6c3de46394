"""Fixtures over the shared test beds in testbeds/ (registered by `pytest_plugins` in tests/conftest.py).

PACS (session-scoped; they error, never skip, if a binary is missing):
    pacs_catalog      the synthetic data set, built once, and its ground truth
    move_destination  a storage SCP in this process that both PACS may C-MOVE to (AE MCPSTORE)
    orthanc           an Orthanc loaded with it
    dcmqrscp          a DCMTK dcmqrscp serving it
Redis:
    redis_server   one server for the whole session
    redis_db       that server, running and with an empty database (FLUSHDB) for each test
    private_redis  a server of the test's own, for tests that stop it (outages)

tests/conftest.py marks every test that uses one of them (see TIERS there).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from testbeds.pacs import Catalog, PacsStartupError, RunningPacs, build_dataset, run_dcmqrscp, run_orthanc
from testbeds.redis import RedisServer, run_redis
from testbeds.store import StoreScp, run_store_scp

__all__ = [
    "dcmqrscp",
    "move_destination",
    "orthanc",
    "pacs_catalog",
    "private_redis",
    "redis_db",
    "redis_server",
]


def _dataset_dir(catalog: Catalog) -> Path:
    """Return the directory a built catalog was written to."""
    if catalog.directory is None:
        raise PacsStartupError("pacs_catalog has no directory; it must come from build_dataset()")
    return catalog.directory


def _check_loaded(pacs: RunningPacs, catalog: Catalog) -> None:
    """Fail loudly if a server does not hold exactly the catalogued instances."""
    if pacs.instance_count != catalog.instance_count:
        raise PacsStartupError(
            f"{pacs.name} holds {pacs.instance_count} instances, catalog has {catalog.instance_count}"
        )


@pytest.fixture(scope="session")
def pacs_catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """Build the synthetic data set once per session and return its ground truth."""
    return build_dataset(tmp_path_factory.mktemp("pacs-dataset"))


@pytest.fixture(scope="session")
def move_destination() -> Iterator[StoreScp]:
    """A storage SCP listening before the PACS start, so that their configurations can name it."""
    with run_store_scp() as store:
        yield store


@pytest.fixture(scope="session")
def orthanc(
    pacs_catalog: Catalog, move_destination: StoreScp, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningPacs]:
    """Run an Orthanc loaded with the data set for the whole session; it may C-MOVE to `move_destination`."""
    with run_orthanc(
        tmp_path_factory.mktemp("orthanc"),
        _dataset_dir(pacs_catalog),
        move_destinations=[move_destination.destination],
    ) as pacs:
        _check_loaded(pacs, pacs_catalog)
        yield pacs


@pytest.fixture(scope="session")
def dcmqrscp(
    pacs_catalog: Catalog, move_destination: StoreScp, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningPacs]:
    """Run a DCMTK dcmqrscp serving the data set for the whole session; it may C-MOVE to `move_destination`."""
    with run_dcmqrscp(
        tmp_path_factory.mktemp("dcmqrscp"),
        _dataset_dir(pacs_catalog),
        move_destinations=[move_destination.destination],
    ) as pacs:
        _check_loaded(pacs, pacs_catalog)
        yield pacs


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One redis-server for the whole session."""
    with run_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def redis_db(redis_server: RedisServer) -> RedisServer:
    """The session's redis-server, running, with an empty database."""
    if not redis_server.is_running():
        redis_server.start()
    redis_server.flushdb()
    return redis_server


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own, free to be stopped and restarted."""
    with run_redis(tmp_path) as server:
        yield server
