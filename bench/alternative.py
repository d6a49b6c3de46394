"""The server users would otherwise run: `dicom-mcp` 0.1.1 from PyPI, installed and started by the bench.

It is a different, older project that shares this one's name. It declares Python >= 3.12 (it runs
on 3.11) and takes any mcp >= 1.3, which today means a 1.x FastMCP only if mcp < 2 is asked for, so
the bench gives it a virtual environment of its own under the user's cache directory, made once
with `pip install --ignore-requires-python "dicom-mcp==0.1.1" "mcp<2"` and reused.

Its CLI is `dicom-mcp CONFIG.yaml --transport sse`; it has no port option and its FastMCP
constructor fixes port 8000 (FASTMCP_PORT is overridden), so `LAUNCH` does what its main() does
with only the port changed, to a free one. Its log is left as it ships: INFO, through rich.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from testbeds.net import free_port, is_listening
from testbeds.pacs import RunningPacs
from testbeds.pacs.common import start_process, stop_process, wait_until

VERSION = "0.1.1"
REQUIREMENTS = (f"dicom-mcp=={VERSION}", "mcp<2")
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dicom-mcp-bench"
CALLING_AET = "BASELINE"
LAUNCH = (
    "import sys\n"
    "from dicom_mcp.transport.server import create_dicom_mcp_server\n"
    "server = create_dicom_mcp_server(sys.argv[1])\n"
    "server.settings.port = int(sys.argv[2])\n"
    "server.run('sse')\n"
)
_CLIENT = Path(__file__).with_name("baseline_client.py")
_VERSIONS = (
    "import importlib.metadata as m, json\n"
    "print(json.dumps({n: m.version(n) for n in ('dicom-mcp', 'mcp', 'pynetdicom', 'pydicom')}))"
)


class BaselineUnavailable(RuntimeError):
    """The baseline could not be installed or started."""


@dataclass(frozen=True)
class Baseline:
    """A running dicom-mcp 0.1.1: its base URL (SSE at /sse), process, log and interpreter."""

    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    python: Path

    def call_with_its_sdk(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """One call through mcp 1.x's own SSE client (bench/baseline_client.py), in a subprocess."""
        argv = [str(self.python), str(_CLIENT), f"{self.base_url}/sse", tool, json.dumps(arguments)]
        done = subprocess.run(argv, capture_output=True, text=True, env=_clean_env(), check=False)
        if done.returncode != 0:
            return {"seconds": float("nan"), "error": done.stderr.strip()[-300:], "result": []}
        return dict(json.loads(done.stdout))


def _clean_env() -> dict[str, str]:
    """Our environment without what would point the baseline's interpreter at our packages."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}


def installed_versions(python: Path) -> dict[str, str]:
    """Versions of dicom-mcp, mcp, pynetdicom and pydicom in the baseline's environment."""
    done = subprocess.run(
        [str(python), "-c", _VERSIONS], capture_output=True, text=True, env=_clean_env(), check=False
    )
    return dict(json.loads(done.stdout)) if done.returncode == 0 else {}


def baseline_python(directory: Path = CACHE / "baseline-venv") -> Path:
    """The baseline environment's interpreter; creates the environment first unless it holds 0.1.1."""
    python = directory / "bin" / "python"
    if python.exists() and installed_versions(python).get("dicom-mcp") == VERSION:
        return python
    print(f"  installing dicom-mcp {VERSION} into {directory} ...", flush=True)
    shutil.rmtree(directory, ignore_errors=True)
    steps = (
        [sys.executable, "-m", "venv", str(directory)],
        [str(python), "-m", "pip", "install", "--quiet", "--ignore-requires-python", *REQUIREMENTS],
    )
    for argv in steps:
        done = subprocess.run(argv, capture_output=True, text=True, env=_clean_env(), check=False)
        if done.returncode != 0:
            raise BaselineUnavailable(f"{' '.join(argv[:4])} failed: {done.stderr.strip()[-400:]}")
    return python


def nodes_yaml(pacs: RunningPacs) -> str:
    """Its configuration: one node, the bench's Orthanc, selected."""
    return (
        f'nodes:\n  bench:\n    host: "{pacs.host}"\n    port: {pacs.port}\n'
        f'    ae_title: "{pacs.ae_title}"\n    description: "the bench Orthanc"\n'
        f'current_node: bench\ncalling_aet: "{CALLING_AET}"\n'
    )


@contextmanager
def run_baseline(python: Path, workdir: Path, pacs: RunningPacs) -> Iterator[Baseline]:
    """Start dicom-mcp 0.1.1 over SSE on a free port, against `pacs`; stop it after."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "nodes.yaml"
    config.write_text(nodes_yaml(pacs), encoding="utf-8")
    port, log_path = free_port(), workdir / "baseline.log"
    argv = [str(python), "-c", LAUNCH, str(config), str(port)]
    process = start_process(argv, log_path, workdir, _clean_env())
    try:
        wait_until(lambda: is_listening(port), f"dicom-mcp {VERSION}", process, log_path)
        yield Baseline(f"http://127.0.0.1:{port}", process, log_path, python)
    finally:
        stop_process(process)
