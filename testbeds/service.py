"""Run the real service (`dicom-mcp`, uvicorn, real HTTP) as a subprocess; testbeds.clients talks to it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from testbeds.net import free_port

REPO = Path(__file__).resolve().parents[1]
START_TIMEOUT = 30.0
# Every service log of this test run: the suite runs services at DEBUG and, at the end, searches
# these logs for patient data (see tests/conftest.py). The bench's services are listed too.
SERVICE_LOGS: list[Path] = []


@dataclass
class RunningService:
    """A started `dicom-mcp` process."""

    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def mcp_url(self) -> str:
        return f"{self.base_url}/mcp"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 30) -> int:
        """Signal the process and wait for it; return its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)


def service_env(pacs_env: Mapping[str, str] | None = None, **settings: str) -> dict[str, str]:
    """The environment for a service process: inherited, minus any DICOM settings, plus ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DICOM_")}
    env["DICOM_MCP_LOG_LEVEL"] = "DEBUG"
    env.update(pacs_env or {})
    env.update({f"DICOM_MCP_{k.upper()}": v for k, v in settings.items()})
    return env


@contextmanager
def run_service(workdir: Path, env: Mapping[str, str], args: Sequence[str] = ()) -> Iterator[RunningService]:
    """Start `python -m dicom_mcp [args]` on a free port; wait until /healthz answers; stop it after."""
    port = free_port()
    log_path = workdir / f"service-{port}.log"
    SERVICE_LOGS.append(log_path)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dicom_mcp",
                "--transport",
                "http",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                *args,
            ],
            cwd=workdir,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    service = RunningService(f"http://127.0.0.1:{port}", process, log_path)
    try:
        wait_healthy(service)
        yield service
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_healthy(service: RunningService, timeout: float = START_TIMEOUT) -> None:
    """Poll /healthz until it answers 200, or fail with the log tail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise RuntimeError(
                f"dicom-mcp exited with {service.process.returncode}:\n{service.log()[-3000:]}"
            )
        try:
            if httpx.get(f"{service.base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"dicom-mcp did not become healthy:\n{service.log()[-3000:]}")
