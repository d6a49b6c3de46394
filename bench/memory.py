"""Section d of the bench: the service's resident memory at rest, per session and over many calls."""

from __future__ import annotations

from typing import Any

import anyio

from bench.mcpload import Call, sequential, spread, studies_calls
from bench.measure import rss_kib
from bench.report import Report, Row, mib
from bench.sections import Bed, verdict_row

CLIENTS = 16


def memory(bed: Bed, report: Report) -> None:
    """(d) RSS at rest, per 10,000 live sessions, and its growth over many calls."""
    rows = report.section("d. service memory (VmRSS from /proc/PID/status)")
    pid = bed.service.process.pid
    rows.append(Row("at rest, after the sections above", mib(rss_kib(pid))))
    handles = _sessions(bed, rows)
    calls = bed.options.calls
    checks = studies_calls(bed.data.catalog, handles[-1])
    samples: dict[int, int] = {0: rss_kib(pid)}

    async def checkpoint(done: int) -> None:
        samples[done] = rss_kib(pid)

    tally, _ = anyio.run(
        spread, bed.url, calls, CLIENTS, lambda n: checks[n % len(checks)], calls // 5, checkpoint
    )
    trail = ", ".join(f"{done:,}: {mib(kib)}" for done, kib in sorted(samples.items()))
    growth = samples[max(samples)] - samples[0]
    rows.append(Row(f"growth over {calls} query_studies calls", f"+{mib(growth)}", trail))
    rows.append(verdict_row("many calls", tally))
    rows.append(
        Row(f"  throughput ({CLIENTS} clients, with a session handle)", f"{tally.throughput:.0f} calls/s")
    )
    report.notes.append(
        "d. the calls are query_studies with a session handle from configure_dicom_server, patients in "
        "turn, each answer checked: what a modern client does all day (store lookup, C-FIND, shaping)."
    )


def _sessions(bed: Bed, rows: list[Row]) -> list[str]:
    """Configure as many sessions as asked; report the RSS they cost, per 10,000."""
    pid, pacs, count = bed.service.process.pid, bed.pacs, bed.options.sessions
    arguments: dict[str, Any] = {"host": pacs.host, "port": pacs.port, "ae_title": pacs.ae_title}
    call = Call(
        "configure_dicom_server", arguments, lambda result: None if result.get("session") else "no handle"
    )
    before = rss_kib(pid)
    tally, results = anyio.run(spread, bed.url, count, CLIENTS, lambda n: call)
    grown = rss_kib(pid) - before
    handles = [str(result["session"]) for result in results]
    oldest_works = anyio.run(sequential, bed.url, studies_calls(bed.data.catalog, handles[0])[:1], 1, 0)
    live = oldest_works.wrong + oldest_works.failed == 0
    rows.append(
        Row(
            f"{count} sessions configured",
            f"+{mib(grown)}",
            f"{mib(grown / count * 10_000)} per 10,000; the first handle still works: {live}",
        )
    )
    rows.append(verdict_row("configure", tally))
    return handles
