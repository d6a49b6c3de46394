"""Tool tests: the real MCP server, in process, in front of a real PACS or the sample PACS.

`pacs` runs a test once per PACS: Orthanc, dcmqrscp (both marked `pacs`), and the sample PACS
of `--demo` (`dicom_mcp.demo`), in this process, loaded with the same synthetic data set as the
two others, which must answer the shared tests exactly as Orthanc does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest
from mcp import Client
from pydicom import dcmread

from dicom_mcp.demo import SamplePacs, start_sample_pacs
from dicom_mcp.services import build_services
from dicom_mcp.settings import Settings
from dicom_mcp.transport.server import build_server
from testbeds.pacs import Catalog, RunningPacs
from tests.servers import stop_promptly

ClientFactory = Callable[..., AbstractAsyncContextManager[Client]]


def settings_for(pacs: RunningPacs | SamplePacs, **overrides: Any) -> Settings:
    """Settings whose default PACS is `pacs`, with short timeouts for tests."""
    values: dict[str, Any] = {
        "dicom_host": pacs.host,
        "dicom_port": pacs.port,
        "dicom_called_ae_title": pacs.ae_title,
        "dicom_ae_title": "MCPTEST",
        "query_deadline": 30,
        "dimse_timeout": 15,
        "_env_file": None,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def tools_client() -> ClientFactory:
    """Open an SDK client on a fresh server whose default PACS is the given one."""

    @asynccontextmanager
    async def open_client(pacs: RunningPacs | SamplePacs, **overrides: Any) -> AsyncIterator[Client]:
        services = build_services(settings_for(pacs, **overrides))
        try:
            async with Client(build_server(services)) as client:
                yield client
        finally:
            await services.aclose()

    return open_client


@pytest.fixture(scope="session")
def sample_pacs(pacs_catalog: Catalog) -> Iterator[SamplePacs]:
    """The sample PACS, in this process, serving the files of the test data set."""
    pacs = start_sample_pacs(dcmread(path) for path in pacs_catalog.files())
    try:
        assert pacs.instance_count == pacs_catalog.instance_count
        yield pacs
    finally:
        stop_promptly(pacs)


@pytest.fixture(
    params=[
        pytest.param("orthanc", marks=pytest.mark.pacs),
        pytest.param("dcmqrscp", marks=pytest.mark.pacs),
        pytest.param("demo"),
    ]
)
def pacs(request: pytest.FixtureRequest) -> RunningPacs | SamplePacs:
    """Each real PACS in turn, then the sample PACS (which has a RunningPacs's host, port, ae_title, name)."""
    return request.getfixturevalue("sample_pacs" if request.param == "demo" else request.param)  # type: ignore[no-any-return]
