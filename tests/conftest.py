"""Suite-wide fixtures: async tests (marked anyio) run on asyncio; the real PACS beds come from tests.pacs."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import pytest

from dicom_mcp.dicom.client import configure_pynetdicom
from dicom_mcp.logs import cap_body_loggers
from tests.phi_scan import find_patient_data
from tests.service import SERVICE_LOGS

pytest_plugins = ["tests.pacs.fixtures", "tests.redisbed"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def pytest_configure(config: pytest.Config) -> None:
    # The test beds poll servers with raw pynetdicom before any DicomClient exists; give them
    # the same socket-close fix (and quiet logging) the service uses.
    configure_pynetdicom()
    # Everything logged in this process goes, at DEBUG, to a file searched for patient data at the end.
    in_process_log = Path(tempfile.mkdtemp(prefix="dicom-mcp-tests-")) / "in-process.log"
    SERVICE_LOGS.append(in_process_log)
    handler = logging.FileHandler(in_process_log, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.DEBUG)
    cap_body_loggers(logging.DEBUG)


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
