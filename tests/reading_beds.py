"""The service the reading and moving tests talk to, and what they look at afterwards.

Its default PACS is Orthanc; dcmqrscp is the named node `dcmqrscp` (not a move destination),
and the tests' storage SCP is the named node `workstation`, the one move destination.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mcp import Client

from testbeds.clients import call_ok
from testbeds.pacs import RunningPacs
from testbeds.service import service_env
from testbeds.store import StoreScp

DESTINATION = "workstation"


def write_nodes_file(path: Path, dcmqrscp: RunningPacs, store: StoreScp) -> Path:
    """A nodes file naming dcmqrscp (a PACS) and the storage SCP (marked as a move destination)."""
    to = store.destination
    path.write_text(
        f'[nodes.dcmqrscp]\nhost = "{dcmqrscp.host}"\nport = {dcmqrscp.port}\nae_title = "{dcmqrscp.ae_title}"\n'
        f'description = "Archive"\n\n'
        f'[nodes.{DESTINATION}]\nhost = "{to.host}"\nport = {to.port}\nae_title = "{to.ae_title}"\n'
        f'description = "Reading room workstation"\nmove_destination = true\n',
        encoding="utf-8",
    )
    return path


def reading_env(
    workdir: Path, orthanc: RunningPacs, dcmqrscp: RunningPacs, store: StoreScp, **settings: str
) -> dict[str, str]:
    """The service's environment: Orthanc by default, the nodes file, an audit trail in `workdir`."""
    defaults = {
        "nodes_file": str(write_nodes_file(workdir / "nodes.toml", dcmqrscp, store)),
        "audit_log": str(workdir / "audit.jsonl"),
    }
    return service_env(
        {
            "DICOM_HOST": orthanc.host,
            "DICOM_PORT": str(orthanc.port),
            "DICOM_CALLED_AE_TITLE": orthanc.ae_title,
        },
        **(defaults | settings),
    )


async def aimed_at(client: Client, pacs: RunningPacs) -> dict[str, str]:
    """The arguments that send a call to `pacs`: none for Orthanc (the default), a session for dcmqrscp."""
    if pacs.name == "orthanc":
        return {}
    configured = await call_ok(client, "configure_dicom_server", node="dcmqrscp")
    return {"session": str(configured["session"])}


def audit_records(workdir: Path, tool: str) -> list[dict[str, Any]]:
    """The audit trail's records of calls to `tool`, oldest first."""
    lines = (workdir / "audit.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    return [record for record in records if record.get("tool") == tool]
