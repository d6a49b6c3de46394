"""Section i of the bench: the alternative server (dicom-mcp 0.1.1, bench/alternative.py) against this one.

Both answer the same study query from the same Orthanc, driven by the same SDK client the rest of
the bench uses (mcp 2.x): 0.1.1 over SSE, its only HTTP transport; this service over streamable
HTTP, as in a and b, and over SSE too. Every answer of both is checked against the catalog.

What 0.1.1's source shows and the rows reflect: its tools are plain functions that FastMCP 1.x runs
on the event loop, so it serves one call at a time; each C-FIND opens and releases an association;
and its default `standard` preset asks query_studies for ReferringPhysicianName, a pydicom
PersonName that mcp 1.x's structured output cannot serialize, so it is measured with that one
attribute excluded (its `exclude_attributes` argument) and the default call is shown failing.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio

from bench.alternative import Baseline, BaselineUnavailable, baseline_python, installed_versions, run_baseline
from bench.mcpload import (
    Call,
    Check,
    Tally,
    concurrent,
    instances_call,
    sequential,
    studies_calls,
    timed_call,
)
from bench.measure import CpuMeter, percentile
from bench.pacs import BIG_SERIES_SIZE
from bench.report import Report, Row, ms
from bench.sections import Bed, verdict_row
from testbeds.clients import mcp_client
from testbeds.pacs import Catalog

TITLE = "i. the alternative server, dicom-mcp 0.1.1 from PyPI, over SSE, on the same Orthanc as a-c"
CLIENTS = 16
PATIENT = "PAT001"  # section a's query
EXCLUDED = ["ReferringPhysicianName"]  # the PN attribute its default study preset cannot serialize


def baseline(bed: Bed, report: Report) -> None:
    """(i) Warm latency, 16-client throughput and the 2,000-match query: 0.1.1 and this service."""
    rows = report.section(TITLE)
    try:
        python = baseline_python()
    except BaselineUnavailable as exc:
        rows.append(Row("dicom-mcp 0.1.1", f"not measured: {exc}"))
        return
    label, service = next(iter(bed.services.items()))
    ours = {
        f"this service, {label.split()[0]}, streamable HTTP": (service.mcp_url, "modern"),
        f"this service, {label.split()[0]}, SSE": (service.base_url, "sse"),
    }
    with run_baseline(python, bed.workdir / "baseline", bed.pacs) as alternative:
        theirs = alternative.base_url
        _default_call(rows, theirs, bed.data.catalog, report)
        _latency(bed, rows, theirs, ours)
        _throughput(bed, rows, alternative, ours)
        _big(bed, report, alternative, ours)
    versions = ", ".join(f"{name} {number}" for name, number in installed_versions(python).items())
    report.notes.append(
        f"i. the alternative: {versions} in {python.parent.parent}, started as its CLI starts it "
        "(--transport sse, a nodes YAML naming the bench's Orthanc) on a free port; its log at INFO as "
        "shipped. Its calls: query_studies(patient_id, exclude_attributes=['ReferringPhysicianName']), "
        "checked against the catalog like ours; this service runs in the first mode of a-c."
    )


def their_studies_calls(catalog: Catalog, **extra: Any) -> list[Call]:
    """query_studies for each patient, as 0.1.1 takes it, checked by StudyInstanceUID."""
    calls = []
    for patient in catalog.patients:
        expected = {s.study_uid for s in catalog.studies_for_patient(patient.patient_id)}
        arguments = {"patient_id": patient.patient_id, **extra}
        calls.append(Call("query_studies", arguments, their_check("StudyInstanceUID", expected)))
    return calls


def their_check(keyword: str, expected: set[str] | frozenset[str]) -> Check:
    """0.1.1 answers a list, which FastMCP 1.x wraps as {"result": [...]}."""

    def check(result: dict[str, Any]) -> str | None:
        uids = [match.get(keyword) for match in result.get("result", ())]
        if len(uids) != len(expected):
            return f"expected {len(expected)} matches, got {len(uids)}"
        return None if set(uids) == expected else f"{keyword} values differ from the catalog"

    return check


def _default_call(rows: list[Row], url: str, catalog: Catalog, report: Report) -> None:
    """query_studies(patient_id) with its default arguments, as a model would first call it."""
    calls = their_studies_calls(catalog)
    tally = anyio.run(sequential, url, calls, len(calls), 0, "sse")
    works = tally.calls - tally.failed - tally.wrong
    rows.append(
        Row("0.1.1: query_studies(patient_id), default arguments", f"{works} of {tally.calls} answered")
    )
    if tally.first_problem:
        report.notes.append(f"i. 0.1.1's query_studies with default arguments: {tally.first_problem}")


def _latency(bed: Bed, rows: list[Row], theirs: str, ours: dict[str, tuple[str, str]]) -> None:
    """Warm sequential calls: 0.1.1's p50 and p95, and ours against them."""
    count, catalog = bed.options.latency_calls, bed.data.catalog
    theirs_calls = their_studies_calls(catalog, exclude_attributes=EXCLUDED)
    tally = anyio.run(sequential, theirs, [c for c in theirs_calls if _is_first(c)], count, 20, "sse")
    base = {p: percentile(tally.latencies, p) for p in (0.5, 0.95)}
    what = f"warm query_studies(patient_id={PATIENT}), one call after another"
    rows.append(Row(f"0.1.1: {what}", f"p50 {ms(base[0.5])}, p95 {ms(base[0.95])}"))
    rows.append(verdict_row(f"0.1.1 {what}", tally))
    calls = [c for c in studies_calls(catalog) if _is_first(c)]
    for name, (url, mode) in ours.items():
        mine = anyio.run(sequential, url, calls, count, 20, mode)
        for p in (0.5, 0.95):
            value = percentile(mine.latencies, p)
            rows.append(
                Row(f"{name}: p{p * 100:.0f}", ms(value), f"0.1.1: {ms(base[p])}", value / base[p], "(info)")
            )
        rows.append(verdict_row(f"{name} {what}", mine))


def _is_first(call: Call) -> bool:
    return bool(call.arguments["patient_id"] == PATIENT)


def _throughput(bed: Bed, rows: list[Row], alternative: Baseline, ours: dict[str, tuple[str, str]]) -> None:
    """16 clients calling for --duration seconds: 0.1.1's rate, and ours as a multiple of it."""
    duration, catalog = bed.options.duration, bed.data.catalog
    meter = CpuMeter({"0.1.1": alternative.process.pid, "orthanc": bed.pacs.process.pid})
    calls = their_studies_calls(catalog, exclude_attributes=EXCLUDED)
    tally = anyio.run(concurrent, alternative.base_url, calls, CLIENTS, duration, meter, "sse")
    base = tally.throughput
    p50, p99 = percentile(tally.latencies, 0.5), percentile(tally.latencies, 0.99)
    rows.append(Row(f"0.1.1: {CLIENTS} clients", f"{base:.1f} calls/s; p50 {ms(p50)}, p99 {ms(p99)}"))
    rows.append(verdict_row(f"0.1.1 {CLIENTS} clients", tally))
    per_call = ", ".join(f"{n} {s / max(tally.calls, 1) * 1000:.1f}" for n, s in meter.used.items())
    rows.append(Row("  CPU ms per call", per_call, meter.busy()))
    for name, (url, mode) in ours.items():
        mine = anyio.run(concurrent, url, studies_calls(catalog), CLIENTS, duration, None, mode)
        ratio = mine.throughput / base if base else float("inf")
        text = f"{mine.throughput:.0f} calls/s; p50 {ms(percentile(mine.latencies, 0.5))}"
        baseline_text = f"0.1.1: {base:.1f} calls/s"
        rows.append(Row(f"{name}: {CLIENTS} clients", text, baseline_text, ratio, ">= 15x", ratio >= 15))
        rows.append(verdict_row(f"{name} {CLIENTS} clients", mine))


def _big(bed: Bed, report: Report, alternative: Baseline, ours: dict[str, tuple[str, str]]) -> None:
    """query_instances for the 2,000-instance series: 0.1.1 through both SDKs' clients, then ours."""
    rows, data = report.section(TITLE), bed.data
    what = f"query_instances, one series of {BIG_SERIES_SIZE}"
    arguments = {"series_instance_uid": data.big_series_uid}
    tally, failure = anyio.run(_their_big_call, alternative.base_url, arguments, data.big_sop_uids)
    seconds = tally.latencies[0] if tally.latencies else float("nan")
    outcome = f"fails after {seconds:.1f} s (note i)" if failure else f"answers in {seconds:.1f} s"
    rows.append(Row(f"0.1.1: {what}, this bench's SDK client (mcp 2.x, SSE)", outcome))
    rows.append(verdict_row(f"0.1.1 {what}, mcp 2.x client", tally))
    if failure:
        report.notes.append(f"i. 0.1.1's {what} through mcp 2.x's SSE client: {failure}")
    theirs = _with_its_own_client(rows, alternative, arguments, data.big_sop_uids, what)
    name, (url, mode) = next(iter(ours.items()))
    call = instances_call(data.big_series_uid, data.big_sop_uids, BIG_SERIES_SIZE)
    mine = anyio.run(sequential, url, [call], bed.options.big_runs, 1, mode)
    p50 = percentile(mine.latencies, 0.5)
    versus = f"0.1.1, mcp 1.x client: {theirs:.1f} s"
    rows.append(Row(f"{name}: {what} (p50)", ms(p50), versus, p50 / theirs, "(info)"))
    rows.append(verdict_row(f"this service {what}", mine))


def _with_its_own_client(
    rows: list[Row], alternative: Baseline, arguments: dict[str, Any], expected: frozenset[str], what: str
) -> float:
    """The 2,000-match call through mcp 1.x's own SSE client, checked; the seconds it took."""
    before = _lines(alternative)
    answer = alternative.call_with_its_sdk("query_instances", arguments)
    seconds = float(answer["seconds"])
    tally = Tally(latencies=[seconds])
    problem = answer["error"] or their_check("SOPInstanceUID", expected)(answer)
    if problem:
        tally.note(problem, failed=bool(answer["error"]))
    size = f"{answer.get('blocks', 0)} content blocks, {answer.get('bytes', 0) / 2**20:.1f} MiB"
    rows.append(Row(f"0.1.1: {what}, mcp 1.x's own SSE client", f"{seconds:.1f} s", size))
    rows.append(verdict_row(f"0.1.1 {what}, mcp 1.x client", tally))
    rows.append(Row("  its log for that call", f"{_lines(alternative) - before} lines"))
    return seconds


async def _their_big_call(
    url: str, arguments: dict[str, Any], expected: frozenset[str]
) -> tuple[Tally, str | None]:
    """The 2,000-match call to 0.1.1 through this bench's SDK client, and how it failed (or None)."""
    tally = Tally()
    call = Call("query_instances", arguments, their_check("SOPInstanceUID", expected))
    failure = None
    sse_log = logging.getLogger("mcp.client.sse")
    level = sse_log.level
    sse_log.setLevel(logging.CRITICAL)  # it logs the failure with a traceback; the report says it once
    try:
        async with mcp_client(url, "sse") as client:
            await timed_call(client, call, tally)
    except Exception as exc:  # a failure of the transport ends the client with an exception group
        failure = _leaf(exc)
        if not tally.failed:
            tally.note(failure, failed=True)
    finally:
        sse_log.setLevel(level)
    return tally, failure or tally.first_problem


def _leaf(exc: BaseException) -> str:
    """The innermost exception of a group: its type and message."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}"


def _lines(alternative: Baseline) -> int:
    with alternative.log_path.open("rb") as log:
        return sum(1 for _ in log)
