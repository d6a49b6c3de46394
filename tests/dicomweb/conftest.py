"""DICOMweb tests: the Orthanc bed serves the data set over DIMSE and, through its DICOMweb plugin,
over QIDO-RS and WADO-RS; the service reaches the latter as named nodes.

    web         local_matching unset: the service finds out that Debian's Orthanc 1.10 does not
                percent-decode query strings, and matches such values itself
    web-strict  the same root, local_matching = false: every value sent percent-encoded, as the
                standard says, whatever the archive does with it
    web-local   the same root, local_matching = true
    workstation a DIMSE move destination nothing listens on (moves from `web` are refused first)

`tools_client(pacs)` opens an in-process SDK client whose connection is pointed at the `web` node
(configure_dicom_server(node=...)), so the shared query cases run unchanged over DICOMweb;
`both` calls one service's default node (Orthanc over DIMSE) and `web`, for answers to compare.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from dicom_mcp.services import build_services
from dicom_mcp.transport.server import build_server
from testbeds.clients import call_ok
from testbeds.pacs import RunningPacs
from tests.tools.conftest import ClientFactory, settings_for

WEB_NODE = "web"
STRICT_NODE = "web-strict"
LOCAL_NODE = "web-local"


def write_web_nodes(path: Path, pacs: RunningPacs) -> Path:
    """A nodes file naming `pacs`'s DICOMweb root thrice: local matching unset, off and on."""
    assert pacs.dicomweb_url is not None, f"{pacs.name} serves no DICOMweb"
    path.write_text(
        f'[nodes.{WEB_NODE}]\nprotocol = "dicomweb"\nurl = "{pacs.dicomweb_url}"\n'
        'description = "Orthanc over DICOMweb"\n\n'
        f'[nodes.{STRICT_NODE}]\nprotocol = "dicomweb"\nurl = "{pacs.dicomweb_url}"\nlocal_matching = false\n\n'
        f'[nodes.{LOCAL_NODE}]\nprotocol = "dicomweb"\nurl = "{pacs.dicomweb_url}"\nlocal_matching = true\n\n'
        '[nodes.workstation]\nhost = "127.0.0.1"\nport = 9\nae_title = "NOWHERE"\nmove_destination = true\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="session")
def web_nodes_file(orthanc: RunningPacs, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_web_nodes(tmp_path_factory.mktemp("dicomweb") / "nodes.toml", orthanc)


@pytest.fixture
def pacs(orthanc: RunningPacs) -> RunningPacs:
    """The PACS the shared query cases run against: Orthanc, reached over DICOMweb by `tools_client`."""
    return orthanc


@pytest.fixture
def tools_client(web_nodes_file: Path) -> ClientFactory:
    """Open an SDK client on a fresh server, its connection pointed at a DICOMweb node of `pacs`."""

    @asynccontextmanager
    async def open_client(pacs: RunningPacs, node: str = WEB_NODE, **overrides: Any) -> AsyncIterator[Client]:
        services = build_services(settings_for(pacs, nodes_file=web_nodes_file, **overrides))
        try:
            async with Client(build_server(services)) as client:
                await call_ok(client, "configure_dicom_server", node=node)
                yield client
        finally:
            await services.aclose()

    return open_client


class Both:
    """A client and a session handle per protocol: the default node (DIMSE) and `web` (DICOMweb)."""

    def __init__(self, client: Client, dimse: str, web: str) -> None:
        self.client, self.sessions = client, {"dimse": dimse, "dicomweb": web}

    async def call(self, tool: str, **arguments: Any) -> dict[str, Any]:
        """Call `tool` on both nodes; return each outcome (structured result, content, error text)."""
        outcomes = {}
        for protocol, session in self.sessions.items():
            result = await self.client.call_tool(tool, {**arguments, "session": session})
            text = " ".join(getattr(block, "text", "") for block in result.content)
            outcomes[protocol] = {
                "error": text.replace("node 'web' (DICOMweb)", "<node>").replace(
                    "node 'default' (ORTHANC)", "<node>"
                )
                if result.is_error
                else None,
                "structured": None if result.is_error else _unnamed(result.structured_content),
                "images": [getattr(block, "data", None) for block in result.content if block.type == "image"],
            }
        return outcomes

    async def same(self, tool: str, **arguments: Any) -> dict[str, Any]:
        outcomes = await self.call(tool, **arguments)
        assert outcomes["dicomweb"] == outcomes["dimse"], f"{tool} differs between the protocols"
        return outcomes["dimse"]


def _unnamed(structured: dict[str, Any] | None) -> dict[str, Any] | None:
    """A result without what names the node that answered (its name and AE title), its matches in
    a fixed order (neither C-FIND nor QIDO-RS orders them)."""
    if structured is None:
        return None
    result = {k: v for k, v in structured.items() if k not in ("node", "called_ae_title")}
    if isinstance(result.get("matches"), list):
        result["matches"] = sorted(result["matches"], key=lambda m: json.dumps(m, sort_keys=True))
    return result


@pytest.fixture
async def both(orthanc: RunningPacs, web_nodes_file: Path) -> AsyncIterator[Both]:
    """One service, a session on each protocol."""
    services = build_services(settings_for(orthanc, nodes_file=web_nodes_file))
    try:
        async with Client(build_server(services)) as client:
            dimse = await call_ok(client, "configure_dicom_server", node="default")
            web = await call_ok(client, "configure_dicom_server", node=WEB_NODE)
            yield Both(client, str(dimse["session"]), str(web["session"]))
    finally:
        await services.aclose()
