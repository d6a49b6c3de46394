"""SIGTERM under load: in-flight calls finish (or fail cleanly) within the grace period; exit status 0."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import anyio
import pytest

from testbeds.clients import call_ok, mcp_client
from testbeds.faults import answers, fault_pacs, hang
from testbeds.service import run_service, service_env

pytestmark = pytest.mark.anyio


async def load(url: str, clients: int, outcomes: list[str], started: anyio.Event) -> None:
    """Run `clients` concurrent query_studies calls; record "ok:<count>" or "error:<type>" for each."""

    async def one(n: int) -> None:
        outcome = None
        mode = "modern" if n % 2 else "legacy"
        try:
            async with mcp_client(url, mode) as client:
                started.set()
                result = await call_ok(client, "query_studies", patient_id="FAULT*", limit=1000)
                outcome = f"ok:{result['count']}"
        except Exception as exc:  # refused (503) or cut: the clean failures accepted here
            outcome = outcome or f"error:{mode}:{_leaf(exc)}"
        outcomes.append(outcome or "error:none")

    async with anyio.create_task_group() as tg:
        for n in range(clients):
            tg.start_soon(one, n)


def _leaf(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    return repr(exc)[:300]


async def test_sigterm_during_twenty_queries_lets_them_finish(tmp_path: Path) -> None:
    with fault_pacs(answers(20, delay=0.1)) as pacs:  # each query takes about 2 s
        env = service_env(
            {"DICOM_PORT": str(pacs.port), "DICOM_CALLED_AE_TITLE": pacs.ae_title}, shutdown_grace="15"
        )
        with run_service(tmp_path, env) as service:
            outcomes: list[str] = []
            started = anyio.Event()
            async with anyio.create_task_group() as tg:
                tg.start_soon(load, service.mcp_url, 20, outcomes, started)
                await started.wait()
                with anyio.fail_after(30):
                    while pacs.requests < 10:  # queries are in flight at the PACS
                        await anyio.sleep(0.02)
                stopped_at = time.monotonic()
                service.process.send_signal(signal.SIGTERM)
            exit_code = await anyio.to_thread.run_sync(service.process.wait, 30)
            elapsed = time.monotonic() - stopped_at
    print(f"\nSIGTERM with 20 in flight: {sorted(set(outcomes))}, all done {elapsed:.1f}s after the signal")
    assert len(outcomes) == 20
    assert all(outcome == "ok:20" or outcome.startswith("error:") for outcome in outcomes)
    # Draining admits no new call, so every query that reached the PACS was in flight and must
    # complete, including the tools/list the SDK's clients send right after a tool's first result.
    assert outcomes.count("ok:20") == pacs.requests
    assert exit_code == 0
    assert elapsed < 15 + 5


async def test_sigterm_with_hung_queries_fails_them_within_the_grace_period(tmp_path: Path) -> None:
    with fault_pacs(hang) as pacs:
        env = service_env(
            {"DICOM_PORT": str(pacs.port), "DICOM_CALLED_AE_TITLE": pacs.ae_title},
            shutdown_grace="2",
            dimse_timeout="60",
            query_deadline="120",
        )
        with run_service(tmp_path, env) as service:
            outcomes: list[str] = []
            started = anyio.Event()
            async with anyio.create_task_group() as tg:
                tg.start_soon(load, service.mcp_url, 5, outcomes, started)
                await started.wait()
                with anyio.fail_after(30):
                    while pacs.requests < 5:
                        await anyio.sleep(0.02)
                stopped_at = time.monotonic()
                service.process.send_signal(signal.SIGTERM)
                exit_code = await anyio.to_thread.run_sync(service.process.wait, 30)
            elapsed = time.monotonic() - stopped_at
    print(f"\nSIGTERM with 5 hung: {sorted(set(outcomes))}, all answered {elapsed:.1f}s after the signal")
    assert len(outcomes) == 5 and all(outcome.startswith("error:") for outcome in outcomes)
    assert any("shutting down" in outcome for outcome in outcomes)  # a tool error, not just a cut
    assert exit_code == 0
    assert elapsed < 2 + 8  # the grace period, then the process goes: no client waits on the PACS
