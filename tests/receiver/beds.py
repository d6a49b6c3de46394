"""What the receiver's tests share: the AE titles both PACS know, the services' settings, and how
a tool's whole answer is fetched and compared.
"""

from __future__ import annotations

import re
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from testbeds.clients import call_ok, mcp_client
from testbeds.pacs import Catalog, Instance, RunningPacs
from testbeds.pacs.dataset import CT_SLICES
from testbeds.pacs.reports import REFERENCED_SLICE
from testbeds.service import SERVICE_LOGS, RunningService, service_env
from testbeds.store import Destination

MOVER = "MCPSCU"  # the `mover` fixture's, the service's default AE title
PAIR = "MCPPAIR"  # two replicas behind one round-robin address
RECEIVERS = (MOVER, "MCPCAP", "MCPSTDIO", "MCPNOGET", PAIR)
LOST = "MCPLOST"
MODES = ("auto", "move")
WARNINGS = (0xB000, 0xB006, 0xB007)


def mover_env(
    workdir: Path,
    orthanc: RunningPacs,
    dcmqrscp: RunningPacs,
    *,
    retrieve: str,
    receiver: Destination | None,
    ae_title: str = MOVER,
    **settings: str,
) -> dict[str, str]:
    """A service reading Orthanc (the default) and dcmqrscp (a node) as `retrieve` says.

    With `receiver`, it listens at its port (under `ae_title`); without, it has no receiver.
    """
    nodes = workdir / "nodes.toml"
    nodes.write_text(
        f'[nodes.dcmqrscp]\nhost = "{dcmqrscp.host}"\nport = {dcmqrscp.port}\n'
        f'ae_title = "{dcmqrscp.ae_title}"\nretrieve = "{retrieve}"\n',
        encoding="utf-8",
    )
    pacs: Mapping[str, str] = {
        "DICOM_HOST": orthanc.host,
        "DICOM_PORT": str(orthanc.port),
        "DICOM_CALLED_AE_TITLE": orthanc.ae_title,
        "DICOM_AE_TITLE": ae_title,
        "DICOM_RETRIEVE": retrieve,
    }
    if receiver is not None:
        settings["receiver_port"] = str(receiver.port)
    return service_env(pacs, nodes_file=str(nodes), audit_log=str(workdir / "audit.jsonl"), **settings)


@dataclass(frozen=True)
class Answer:
    """A tool's whole answer: error or not, its structured content and every content block."""

    is_error: bool
    structured: dict[str, Any] | None
    blocks: list[dict[str, Any]]

    @property
    def text(self) -> str:
        return " ".join(str(block.get("text", "")) for block in self.blocks)


async def aim(client: Client, pacs: str) -> dict[str, str]:
    """The arguments that send a call to `pacs`: none for the default PACS, a session for a node."""
    if pacs == "orthanc":
        return {}
    return {"session": str((await call_ok(client, "configure_dicom_server", node=pacs))["session"])}


async def answer(service: RunningService, pacs: str, tool: str, **arguments: object) -> Answer:
    """Call `tool` on `pacs` (see `aim`) over HTTP; its whole answer."""
    async with mcp_client(service.mcp_url, "modern") as client:
        result = await client.call_tool(tool, {**arguments, **await aim(client, pacs)})
    blocks = [block.model_dump(exclude_none=True) for block in result.content]
    return Answer(result.is_error, result.structured_content, blocks)


def ct_slice(catalog: Catalog, number: int = REFERENCED_SLICE) -> Instance:
    (series,) = catalog.series_with_content(CT_SLICES)
    return catalog.instances_for_series(series.series_uid)[number - 1]


def only_instance(catalog: Catalog, content: str) -> Instance:
    (series,) = catalog.series_with_content(content)
    (instance,) = catalog.instances_for_series(series.series_uid)
    return instance


def is_refusal(status: int) -> bool:
    """A C-STORE status that is neither Success nor a Warning (PS3.4 B.2.3)."""
    return status != 0x0000 and status not in WARNINGS


async def refused(service: RunningService) -> int:
    """dicom_mcp_receiver_refused_total on /metrics, all reasons together (0 before the first)."""
    async with httpx.AsyncClient(timeout=5) as http:
        text = (await http.get(f"{service.base_url}/metrics")).text
    counts = re.findall(r"^dicom_mcp_receiver_refused_total(?:\{[^}]*\})? (\S+)$", text, re.MULTILINE)
    return round(sum(float(count) for count in counts))


@asynccontextmanager
async def stdio_service(env: Mapping[str, str], log: Path) -> AsyncIterator[Client]:
    """An SDK client driving `python -m dicom_mcp --transport stdio`, its log (stderr) kept in `log`."""
    SERVICE_LOGS.append(log)  # searched for the data set's patients at the end of the run, too
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "dicom_mcp", "--transport", "stdio"], env=dict(env)
    )
    with log.open("w", encoding="utf-8") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            yield client
