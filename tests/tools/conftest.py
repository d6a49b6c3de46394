"""Tool tests: the real MCP server, in process, in front of a real PACS."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest
from mcp import Client

from dicom_mcp.server import build_server
from dicom_mcp.services import build_services
from dicom_mcp.settings import Settings
from testbeds.pacs import RunningPacs

ClientFactory = Callable[..., AbstractAsyncContextManager[Client]]


def settings_for(pacs: RunningPacs, **overrides: Any) -> Settings:
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
    async def open_client(pacs: RunningPacs, **overrides: Any) -> AsyncIterator[Client]:
        services = build_services(settings_for(pacs, **overrides))
        try:
            async with Client(build_server(services)) as client:
                yield client
        finally:
            await services.aclose()

    return open_client


@pytest.fixture(params=[pytest.param(name, marks=pytest.mark.pacs) for name in ("orthanc", "dcmqrscp")])
def pacs(request: pytest.FixtureRequest) -> RunningPacs:
    """Each real PACS in turn."""
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]
