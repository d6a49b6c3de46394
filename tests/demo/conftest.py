"""Shared by the demo tests: the sample data set, built once, and the running `--demo` service."""

from __future__ import annotations

import copy
import signal
from collections.abc import Iterator

import pytest
from pydicom.dataset import Dataset

from dicom_mcp.demo import sample_datasets
from testbeds.service import RunningService, run_service, service_env


class SampleData:
    """The sample data set, built once: building it takes most of a second, copying a tenth."""

    def __init__(self) -> None:
        self._built = sample_datasets()

    def __call__(self, count: int | None = None) -> list[Dataset]:
        """A copy of the first `count` instances (all by default) of this caller's own, free to change."""
        return copy.deepcopy(self._built[:count])


@pytest.fixture(scope="session")
def sample_data() -> SampleData:
    """The sample data set, built once for the session; each call gives a copy."""
    return SampleData()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    """`python -m dicom_mcp --demo` over HTTP on a free port; its log is searched for patient data too."""
    with run_service(tmp_path_factory.mktemp("demo"), service_env(), ["--demo"]) as service:
        yield service
        assert service.stop(signal.SIGTERM) == 0
