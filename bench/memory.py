"""Section d of the bench: the service's resident memory at rest, per session, over many calls and renders.

Sessions are measured first, on fresh processes (after a few warm-up calls), so that heap freed
by the load sections cannot hide what they cost; growth over many calls is measured near the end,
before renders (whose larger buffers would raise its starting point).
"""

from __future__ import annotations

from typing import Any

import anyio
import httpx

from bench.images import SIZE, WINDOW
from bench.mcpload import Call, sequential, spread, studies_calls
from bench.measure import peak_rss_kib, reset_peak_rss, rss_kib
from bench.report import Report, Row, change, mib
from bench.sections import Bed, verdict_row
from testbeds.service import RunningService

CLIENTS = 16
TITLE = "d. service memory (VmRSS from /proc/PID/status)"


def sessions(bed: Bed, report: Report) -> None:
    """RSS at rest; then, on the first service, after configuring many sessions (live: TTL 1 h)."""
    rows = report.section(TITLE)
    for label, service in bed.services.items():
        anyio.run(sequential, service.mcp_url, studies_calls(bed.data.catalog), 20, 20)  # warm up
        rows.append(Row(f"{label}: at rest, after 40 warm-up calls", mib(rss_kib(service.process.pid))))
    label, service = next(iter(bed.services.items()))
    count, pid = bed.options.sessions, service.process.pid
    before = rss_kib(pid)
    tally, handles = anyio.run(_configure, bed, service, count)
    grown = rss_kib(pid) - before
    first = anyio.run(sequential, service.mcp_url, studies_calls(bed.data.catalog, handles[0])[:1], 1, 0)
    detail = f"{mib(grown / count * 10_000)} per 10,000; /metrics live sessions: {_live_sessions(service)}"
    rows.append(Row(f"{label}: {count:,} sessions configured", change(grown), detail))
    rows.append(verdict_row("configure", tally))
    rows.append(Row("  the first handle still answers", str(first.wrong + first.failed == 0)))


def growth(bed: Bed, report: Report) -> None:
    """RSS over many query_studies calls that pass a session handle, sampled five times."""
    rows = report.section(TITLE)
    calls = bed.options.calls
    for label, service in bed.services.items():
        pid = service.process.pid
        _, handles = anyio.run(_configure, bed, service, 1)
        checks = studies_calls(bed.data.catalog, handles[0])
        samples: dict[int, int] = {0: rss_kib(pid)}

        async def checkpoint(done: int, pid: int = pid, samples: dict[int, int] = samples) -> None:
            samples[done] = rss_kib(pid)

        def make(n: int, checks: list[Call] = checks) -> Call:
            return checks[n % len(checks)]

        tally, _ = anyio.run(spread, service.mcp_url, calls, CLIENTS, make, calls // 5, checkpoint)
        trail = ", ".join(f"{done:,}: {mib(kib)}" for done, kib in sorted(samples.items()))
        grown = samples[max(samples)] - samples[0]
        rows.append(Row(f"{label}: growth over {calls:,} calls", change(grown), trail))
        rows.append(verdict_row(f"many calls, {label}", tally))
        rows.append(Row(f"  throughput ({CLIENTS} clients)", f"{tally.throughput:.0f} calls/s"))
    report.notes.append(
        "d. the calls are query_studies with a session handle from configure_dicom_server, patients in "
        "turn, each answer checked: what a modern client does all day (store lookup, C-FIND, shaping)."
    )


def renders(bed: Bed, report: Report) -> None:
    """RSS over many render_image calls of the 512x512 CT: at the start, at the end, and its peak."""
    rows = report.section(TITLE)
    count, keys = bed.options.renders, bed.data.ct
    center, width = WINDOW
    arguments = {
        "sop_instance_uid": keys.sop,
        "series_instance_uid": keys.series,
        "study_instance_uid": keys.study,
        "window_center": center,
        "window_width": width,
    }
    call = Call(
        "render_image", arguments, lambda r: None if r.get("rows") == SIZE else f"rows {r.get('rows')}"
    )
    for label, service in bed.services.items():
        pid = service.process.pid
        start = rss_kib(pid)
        reset_peak_rss(pid)
        samples: dict[int, int] = {0: start}

        async def checkpoint(done: int, pid: int = pid, samples: dict[int, int] = samples) -> None:
            samples[done] = rss_kib(pid)

        tally, _ = anyio.run(spread, service.mcp_url, count, CLIENTS, lambda n: call, count // 5, checkpoint)
        end, peak = rss_kib(pid), peak_rss_kib(pid)
        trail = ", ".join(f"{done:,}: {mib(kib)}" for done, kib in sorted(samples.items()))
        rows.append(
            Row(
                f"{label}: {count:,} renders of the {SIZE}x{SIZE} CT",
                change(end - start),
                f"start {mib(start)}, end {mib(end)}, peak {mib(peak)}",
            )
        )
        rows.append(Row(f"  RSS every {count // 5:,} renders", "", trail))
        rows.append(verdict_row(f"renders, {label}", tally))
        rows.append(Row(f"  throughput ({CLIENTS} clients)", f"{tally.throughput:.0f} renders/s"))
    report.notes.append(
        "d. renders: render_image with window 40/400, each answer checked; peak = VmHWM, reset with "
        "/proc/PID/clear_refs just before the first render."
    )


async def _configure(bed: Bed, service: RunningService, count: int) -> tuple[Any, list[str]]:
    """Configure `count` sessions on the bench's PACS; return the tally and the handles."""
    pacs = bed.pacs
    arguments: dict[str, Any] = {"host": pacs.host, "port": pacs.port, "ae_title": pacs.ae_title}
    call = Call(
        "configure_dicom_server", arguments, lambda result: None if result.get("session") else "no handle"
    )
    tally, results = await spread(service.mcp_url, count, CLIENTS, lambda n: call)
    return tally, [str(result["session"]) for result in results]


def _live_sessions(service: RunningService) -> str:
    """The service's own count of live session-store entries, from /metrics."""
    text = httpx.get(f"{service.base_url}/metrics", timeout=10).text
    for line in text.splitlines():
        if line.startswith("dicom_mcp_live_sessions "):
            return f"{float(line.split()[1]):,.0f}"
    return "n/a"
