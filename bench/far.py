"""Section e of the bench: section b's load again, with the PACS behind a delaying relay.

On the bench's own machine the PACS answers from memory on the same CPUs as everything else, so
a single client's latency is nearly all CPU and concurrency can add little (see note b). A PACS
in a hospital sits across a network and answers from a database: a client waits on it. The relay
(`testbeds.netdelay`) adds that wait, and this section shows how the service then scales.
"""

from __future__ import annotations

from typing import Any

import anyio

from bench.mcpload import studies_calls
from bench.report import Report
from bench.sections import Bed, scaling
from testbeds.clients import call_ok, mcp_client
from testbeds.service import RunningService


def far_load(bed: Bed, report: Report) -> None:
    """(e) Section b's query_studies load with the PACS a round trip of `--rtt-ms` away."""
    rtt = bed.options.rtt_ms
    rows = report.section(
        f"e. as b, with the PACS {rtt:g} ms round trip away (a relay delays every byte; "
        f"{bed.options.duration:g} s per level)"
    )
    target = {"host": "127.0.0.1", "port": bed.relay_port, "ae_title": bed.pacs.ae_title}
    for label, service in bed.services.items():
        handle = anyio.run(_configure, service, target)
        calls = studies_calls(bed.data.catalog, handle)
        scaling(bed, rows, label, service.mcp_url, calls, bed.options.far_clients, target=False)
    report.notes.append(
        "e. the same clients and checks as b, through a session configured with configure_dicom_server "
        "to reach Orthanc through testbeds/netdelay.py; a fresh association costs two more round trips "
        "than a reused one (associate, then the query; the release is not waited for)."
    )


async def _configure(service: RunningService, arguments: dict[str, Any]) -> str:
    """A session handle for the relayed PACS."""
    async with mcp_client(service.mcp_url, "modern") as client:
        result = await call_ok(client, "configure_dicom_server", **arguments)
    return str(result["session"])
