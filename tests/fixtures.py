"""Session-scoped pytest fixtures for the real-PACS test beds (use via pytest_plugins or star import)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pacs.common import PacsStartupError, RunningPacs
from tests.pacs.dataset import Catalog, build_dataset
from tests.pacs.dcmqrscp import run_dcmqrscp
from tests.pacs.orthanc import run_orthanc

__all__ = ["dcmqrscp", "orthanc", "pacs_catalog"]


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
def orthanc(pacs_catalog: Catalog, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPacs]:
    """Run an Orthanc loaded with the data set for the whole session (errors, never skips, if missing)."""
    with run_orthanc(tmp_path_factory.mktemp("orthanc"), _dataset_dir(pacs_catalog)) as pacs:
        _check_loaded(pacs, pacs_catalog)
        yield pacs


@pytest.fixture(scope="session")
def dcmqrscp(pacs_catalog: Catalog, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPacs]:
    """Run a DCMTK dcmqrscp serving the data set for the whole session (errors, never skips, if missing)."""
    with run_dcmqrscp(tmp_path_factory.mktemp("dcmqrscp"), _dataset_dir(pacs_catalog)) as pacs:
        _check_loaded(pacs, pacs_catalog)
        yield pacs
