"""Suite-wide fixtures: async tests (marked anyio) run on asyncio; the real PACS beds come from tests.pacs."""

from __future__ import annotations

import pytest

from dicom_mcp.dicom.client import configure_pynetdicom

pytest_plugins = ["tests.pacs.fixtures", "tests.redisbed"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def pytest_configure(config: pytest.Config) -> None:
    # The test beds poll servers with raw pynetdicom before any DicomClient exists; give them
    # the same socket-close fix (and quiet logging) the service uses.
    configure_pynetdicom()
