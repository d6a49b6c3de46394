"""Section e of the bench: section b's load again, with the PACS behind a delaying relay.

On the bench's own machine the PACS answers from memory on the same CPUs as everything else, so
a single client's latency is nearly all CPU and concurrency can add little (see note b). A PACS
in a hospital sits across a network and answers from a database: a client waits on it. The relay
(`bench.netdelay`) adds that wait, and this section shows how the service then scales.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio

from bench.mcpload import studies_calls
from bench.report import Report
from bench.sections import Bed, scaling
from tests.pacs.common import free_port
from tests.service import RunningService, call_ok, mcp_client


@contextmanager
def relay(host: str, port: int, one_way_ms: float) -> Iterator[int]:
    """Run `bench.netdelay` in front of host:port; yields the port it listens on."""
    listen = free_port()
    argv = [sys.executable, "-m", "bench.netdelay", str(listen), host, str(port), str(one_way_ms)]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the delaying relay did not start (exit {process.wait()})")
        yield listen
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


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
        "to reach Orthanc through bench/netdelay.py; a fresh association costs two more round trips "
        "than a reused one (associate, then the query; the release is not waited for)."
    )


async def _configure(service: RunningService, arguments: dict[str, Any]) -> str:
    """A session handle for the relayed PACS."""
    async with mcp_client(service.mcp_url, "modern") as client:
        result = await call_ok(client, "configure_dicom_server", **arguments)
    return str(result["session"])
