"""Section c of the bench: query_instances of the 2,000-instance series vs findscu, on two Orthancs.

c1 runs against the bench's Orthanc, configured as the test beds configure it: StorageAccessOnFind
"Always", so to answer it reads the file of every matching instance, and the PACS itself is slow.
c2 starts a second Orthanc with the same data configured as a fast PACS ("Never": it answers from
its index alone) and the same service processes against it. The cost per match is what the
service adds to findscu's time for the same identifier, end to end through the SDK client,
divided by the number of matches: on a fast PACS, what remains is mostly the service's own.
"""

from __future__ import annotations

from contextlib import AsyncExitStack, ExitStack
from dataclasses import dataclass, field
from functools import partial

import anyio

from bench import direct
from bench.mcpload import Tally, instances_call, timed_call
from bench.measure import cpu_seconds, percentile
from bench.pacs import BIG_SERIES_SIZE, FAST_FIND, SLOW_FIND, BenchData, run_bench_orthanc
from bench.report import Report, Row, ms
from bench.sections import Bed, verdict_row
from dicom_mcp.model.levels import Level
from dicom_mcp.model.queries import Query, build_query
from testbeds.clients import mcp_client
from testbeds.pacs import RunningPacs
from testbeds.service import RunningService

PACSES = {  # section key -> what the reader is told about its Orthanc
    "c1": f"Orthanc as the test beds run it, StorageAccessOnFind={SLOW_FIND} (a slow PACS)",
    "c2": f"a second Orthanc as a fast PACS, StorageAccessOnFind={FAST_FIND}",
}
PER_MATCH_MS = 0.15  # the target for what the service adds per match


def big_query(bed: Bed, report: Report) -> None:
    """(c) The 2,000-match query on the bench's Orthanc, then on a fast one started for it."""
    _measure(bed, report, "c1", bed.pacs, bed.services)
    with ExitStack() as stack:
        threads = bed.options.orthanc_threads
        fast = run_bench_orthanc(bed.workdir / "orthanc-fast", bed.data, threads, storage_access=FAST_FIND)
        pacs = stack.enter_context(fast)
        _measure(bed, report, "c2", pacs, bed.start_services(stack, pacs))
    report.notes.append(
        "c1, c2. findscu (DCMTK, TCP_NODELAY=1) is timed as a subprocess, start-up included, printing "
        "every match; the service, findscu and the script are all checked UID by UID, and run in turn "
        "(one of each per run, the first run dropped). Added per match = the median over runs of "
        f"(service - findscu) / {BIG_SERIES_SIZE}, end to end through the SDK client. CPU per match = "
        "the service process's CPU time during its calls (all its threads) / calls / matches: its own "
        "cost, which overlaps the PACS's sending. With StorageAccessOnFind="
        f"{FAST_FIND}, Orthanc 1.10 answers SOPClassUID empty (its index does not hold it); every other "
        "key the service asks for comes back alike."
    )


def _measure(
    bed: Bed, report: Report, key: str, pacs: RunningPacs, services: dict[str, RunningService]
) -> None:
    """The rows of one Orthanc: each service against findscu, its cost per match, and the script."""
    runs = bed.options.big_runs
    rows = report.section(f"{key}. query_instances, {BIG_SERIES_SIZE} matches (p50 of {runs}); {PACSES[key]}")
    measured = anyio.run(_interleaved, pacs, services, bed.data, runs)
    findscu, script = percentile(measured.findscu, 0.5), percentile(measured.script, 0.5)
    versus = f"findscu: {ms(findscu)}"
    for label, tally in measured.tallies.items():
        p50 = percentile(tally.latencies, 0.5)
        rows.append(Row(f"service, {label}", ms(p50), versus, p50 / findscu, "<= 3.0x", p50 <= 3 * findscu))
        # A run's service call follows its findscu run: the median of their differences cancels
        # most of the machine's drift between runs.
        gaps = [mine - theirs for mine, theirs in zip(tally.latencies, measured.findscu, strict=True)]
        added = percentile(gaps, 0.5) / BIG_SERIES_SIZE * 1000
        goal, holds = f"<= {PER_MATCH_MS} ms", added <= PER_MATCH_MS
        rows.append(Row("  added per match over findscu", f"{added:.3f} ms", versus, None, goal, holds))
        cpu = measured.cpu[label] / max(tally.calls, 1) / BIG_SERIES_SIZE * 1000
        rows.append(Row("  service CPU per match", f"{cpu:.3f} ms", "its process, during its calls"))
        rows.append(verdict_row(f"big query, {key}, {label}", tally))
    rows.append(Row("script + TCP_NODELAY", ms(script), versus, script / findscu, "(info)"))


def instances_query(data: BenchData) -> Query:
    """The identifier the service sends for the big series (it looks the study up first)."""
    matching = {
        "SeriesInstanceUID": ("series_instance_uid", data.big_series_uid),
        "StudyInstanceUID": ("study_instance_uid", data.big_study_uid),
    }
    return build_query(Level.INSTANCE, matching, None, None, None)


@dataclass
class Runs:
    """Section c's measurements on one PACS, run by run."""

    tallies: dict[str, Tally]  # per service label
    cpu: dict[str, float]  # CPU seconds each service process spent during its calls
    findscu: list[float] = field(default_factory=list)
    script: list[float] = field(default_factory=list)


async def _interleaved(
    pacs: RunningPacs, services: dict[str, RunningService], data: BenchData, runs: int
) -> Runs:
    """Per run: findscu, the script, one call per service (warm clients); run 0 only warms up."""
    query = instances_query(data)
    argv = direct.findscu_argv(pacs.host, pacs.port, pacs.ae_title, query)
    script = partial(direct.script_find, pacs.host, pacs.port, pacs.ae_title, query, nodelay=True)
    call = instances_call(data.big_series_uid, data.big_sop_uids, BIG_SERIES_SIZE)
    measured = Runs({label: Tally() for label in services}, dict.fromkeys(services, 0.0))
    async with AsyncExitStack() as stack:
        clients = {
            label: await stack.enter_async_context(mcp_client(service.mcp_url, "modern"))
            for label, service in services.items()
        }
        for n in range(runs + 1):
            seconds, uids = await anyio.to_thread.run_sync(direct.run_findscu, argv)
            script_seconds, matches = await anyio.to_thread.run_sync(script)
            for got in (uids, [str(match.get("SOPInstanceUID")) for match in matches]):
                if set(got) != data.big_sop_uids or len(got) != BIG_SERIES_SIZE:
                    raise RuntimeError(
                        f"a baseline returned {len(got)} instances, expected {BIG_SERIES_SIZE}"
                    )
            for label, client in clients.items():
                pid = services[label].process.pid
                before = cpu_seconds(pid)
                await timed_call(client, call, measured.tallies[label] if n else Tally())
                if n:
                    measured.cpu[label] += cpu_seconds(pid) - before
            if n:
                measured.findscu.append(seconds)
                measured.script.append(script_seconds)
    return measured
