"""Suite-wide set-up: async tests (marked anyio) run on asyncio, tiers are marked, logs are searched.

Tiers: a test that needs a server outside this process is marked `pacs`, `redis` or `service`
(and `external`), from the fixtures it uses and the test-bed starters its module imports, so
`pytest -m "not external"` runs the fast tier. A test that reaches a bed another way (e.g.
`request.getfixturevalue`) carries the marker itself.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from types import ModuleType

import pytest

from dicom_mcp.dimse.reactor import configure_pynetdicom
from dicom_mcp.logs import cap_body_loggers
from dicom_mcp.reading.decoders import put_gdcm_last
from testbeds.clients import stdio_client
from testbeds.pacs import build_dataset, run_dcmqrscp, run_orthanc
from testbeds.redis import run_redis
from testbeds.service import SERVICE_LOGS, run_service
from tests.phi_scan import find_patient_data

pytest_plugins = ["tests.fixtures"]

# marker: (fixtures that start its beds, starters a test module may call itself)
TIERS: dict[str, tuple[set[str], tuple[object, ...]]] = {
    "pacs": ({"pacs_catalog", "orthanc", "dcmqrscp"}, (build_dataset, run_orthanc, run_dcmqrscp)),
    "redis": ({"redis_server", "redis_db", "private_redis"}, (run_redis,)),
    "service": (set(), (run_service, stdio_client)),
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def pytest_configure(config: pytest.Config) -> None:
    # The test beds poll servers with raw pynetdicom before any DicomClient exists; give them
    # the same socket-close fix (and quiet logging) the service uses.
    configure_pynetdicom()
    # Tests that render in this process decode as the sandbox worker does: GDCM after the others.
    put_gdcm_last()
    # Everything logged in this process goes, at DEBUG, to a file searched for patient data at the end.
    in_process_log = Path(tempfile.mkdtemp(prefix="dicom-mcp-tests-")) / "in-process.log"
    SERVICE_LOGS.append(in_process_log)
    handler = logging.FileHandler(in_process_log, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.DEBUG)
    cap_body_loggers(logging.DEBUG)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with the tiers of the beds it uses, and `external` if it uses any."""
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        module = getattr(item, "module", None)
        for marker, (fixtures, starters) in TIERS.items():
            if used & fixtures or _imports_any(module, starters):
                item.add_marker(marker)
        if any(item.get_closest_marker(marker) for marker in TIERS):
            item.add_marker("external")


def _imports_any(module: ModuleType | None, objects: tuple[object, ...]) -> bool:
    """True if `module` holds any of `objects` at its top level (imported them)."""
    return module is not None and any(value is obj for value in vars(module).values() for obj in objects)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if any ordinary log of it (services at DEBUG, this process) holds patient data."""
    hits = find_patient_data(SERVICE_LOGS)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"patient-data scan: {len(SERVICE_LOGS)} logs searched, {len(hits)} hits")
        for hit in hits[:20]:
            reporter.write_line(f"  {hit}")
    if hits:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
