"""The running `--demo` service, for the modules that talk to it over HTTP."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from testbeds.service import RunningService, run_service, service_env


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    """`python -m dicom_mcp --demo` over HTTP on a free port; its log is searched for patient data too."""
    with run_service(tmp_path_factory.mktemp("demo"), service_env(), ["--demo"]) as service:
        yield service
        assert service.stop(signal.SIGTERM) == 0
