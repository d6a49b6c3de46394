"""Drive the service with real MCP SDK clients (modern mode, 2026-07-28), checking every answer.

Each simulated client is its own `mcp.Client` over its own httpx client, so it holds its own
HTTP keep-alive connection: 200 clients means 200 connections and 200 client sessions.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import anyio
from mcp import Client

from bench.measure import CpuMeter
from testbeds.clients import mcp_client
from testbeds.pacs import Catalog

# One check of an answer: the structured result -> None when right, else what was wrong.
Check = Callable[[dict[str, Any]], str | None]


@dataclass(frozen=True)
class Call:
    """One tool call and how to check its answer."""

    tool: str
    arguments: dict[str, Any]
    check: Check


@dataclass
class Tally:
    """Latencies and wrong or failed answers of a run."""

    latencies: list[float] = field(default_factory=list)
    wrong: int = 0
    failed: int = 0
    first_problem: str | None = None
    elapsed: float = 0.0

    @property
    def calls(self) -> int:
        return len(self.latencies)

    @property
    def throughput(self) -> float:
        return self.calls / self.elapsed if self.elapsed else 0.0

    def note(self, problem: str, *, failed: bool) -> None:
        if failed:
            self.failed += 1
        else:
            self.wrong += 1
        self.first_problem = self.first_problem or problem


def studies_calls(catalog: Catalog, session: str | None = None) -> list[Call]:
    """query_studies for each patient, each answer checked against the catalog's study UIDs."""
    calls = []
    for patient in catalog.patients:
        expected = {s.study_uid for s in catalog.studies_for_patient(patient.patient_id)}
        arguments: dict[str, Any] = {"patient_id": patient.patient_id}
        if session is not None:
            arguments["session"] = session
        calls.append(Call("query_studies", arguments, _uid_check("StudyInstanceUID", expected)))
    return calls


def _uid_check(keyword: str, expected: set[str] | frozenset[str]) -> Check:
    def check(result: dict[str, Any]) -> str | None:
        uids = [match.get(keyword) for match in result.get("matches", ())]
        if result.get("truncated") or result.get("count") != len(expected) or len(uids) != len(expected):
            return f"expected {len(expected)} matches, got {result.get('count')} (truncated={result.get('truncated')})"
        if set(uids) != expected:
            return f"{keyword} values differ from the catalog"
        return None

    return check


def instances_call(series_uid: str, expected: frozenset[str], limit: int) -> Call:
    """query_instances for a whole series, checked UID by UID."""
    arguments = {"series_instance_uid": series_uid, "limit": limit}
    return Call("query_instances", arguments, _uid_check("SOPInstanceUID", expected))


async def timed_call(client: Client, call: Call, tally: Tally) -> dict[str, Any] | None:
    """Make one call; record its latency, and whether it failed or was wrong."""
    started = time.perf_counter()
    try:
        result = await client.call_tool(call.tool, call.arguments)
    except Exception as exc:  # a transport failure is a failed answer, counted, not fatal
        tally.latencies.append(time.perf_counter() - started)
        tally.note(f"{call.tool}: {type(exc).__name__}: {exc}", failed=True)
        return None
    tally.latencies.append(time.perf_counter() - started)
    if result.is_error or result.structured_content is None:
        text = " ".join(getattr(block, "text", "") for block in result.content)
        tally.note(f"{call.tool} error: {text[:200]}", failed=True)
        return None
    structured = dict(result.structured_content)
    problem = call.check(structured)
    if problem is not None:
        tally.note(f"{call.tool}: {problem}", failed=False)
    return structured


async def sequential(
    url: str, calls: Sequence[Call], count: int, warmup: int = 20, mode: str = "modern"
) -> Tally:
    """One warm client making `count` calls one after another (cycling through `calls`).

    `mode` is testbeds.clients.mcp_client's: "modern", "legacy" or "sse" (then `url` may be the base).
    """
    tally = Tally()
    async with mcp_client(url, mode) as client:
        for n in range(warmup):
            await timed_call(client, calls[n % len(calls)], Tally())
        started = time.perf_counter()
        for n in range(count):
            await timed_call(client, calls[n % len(calls)], tally)
        tally.elapsed = time.perf_counter() - started
    return tally


async def concurrent(
    url: str,
    calls: Sequence[Call],
    clients: int,
    duration: float,
    meter: CpuMeter | None = None,
    mode: str = "modern",
) -> Tally:
    """`clients` clients, each calling in a loop for `duration` seconds; every answer checked.

    `meter`, if given, measures CPU over the timed calls only (not the clients' set-up); `mode` as
    in `sequential`.
    """
    tally = Tally()
    async with AsyncExitStack() as stack:
        sessions = [await stack.enter_async_context(mcp_client(url, mode)) for _ in range(clients)]
        for n, client in enumerate(sessions):  # warm each connection once, outside the clock
            await timed_call(client, calls[n % len(calls)], Tally())
        if meter is not None:
            meter.start()
        started = time.perf_counter()
        stop_at = started + duration

        async def loop(n: int, client: Client) -> None:
            i = n
            while time.perf_counter() < stop_at:
                await timed_call(client, calls[i % len(calls)], tally)
                i += 1

        async with anyio.create_task_group() as group:
            for n, client in enumerate(sessions):
                group.start_soon(loop, n, client)
        tally.elapsed = time.perf_counter() - started
        if meter is not None:
            meter.stop()
    return tally


async def spread(
    url: str,
    count: int,
    clients: int,
    make: Callable[[int], Call],
    every: int = 0,
    at_checkpoint: Callable[[int], Awaitable[None]] | None = None,
) -> tuple[Tally, list[dict[str, Any]]]:
    """`count` calls `make(n)` spread over `clients` concurrent clients; returns their results.

    With `every` and `at_checkpoint`, the checkpoint runs (between calls) after each `every` calls.
    """
    tally = Tally()
    results: list[dict[str, Any]] = []
    next_n = 0
    started = time.perf_counter()

    async def worker() -> None:
        nonlocal next_n
        async with mcp_client(url, "modern") as client:
            while next_n < count:
                n = next_n
                next_n += 1
                result = await timed_call(client, make(n), tally)
                if result is not None:
                    results.append(result)
                if every and at_checkpoint is not None and (n + 1) % every == 0:
                    await at_checkpoint(n + 1)

    async with anyio.create_task_group() as group:
        for _ in range(clients):
            group.start_soon(worker)
    tally.elapsed = time.perf_counter() - started
    return tally, results
