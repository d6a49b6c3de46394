"""Shared plumbing for the PACS test beds: RunningPacs, polling, process handling, C-ECHO and C-FIND."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    PatientRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelFind,
    Verification,
)

from testbeds.net import count_established

LOOPBACK = "127.0.0.1"
STARTUP_TIMEOUT = 30.0
POLL_INTERVAL = 0.02
STOP_TIMEOUT = 10.0

STUDY_ROOT_FIND: str = StudyRootQueryRetrieveInformationModelFind
PATIENT_ROOT_FIND: str = PatientRootQueryRetrieveInformationModelFind


class PacsStartupError(RuntimeError):
    """A test-bed server failed to start, become ready or load the data set."""


@dataclass
class RunningPacs:
    """A started PACS test bed; connect only via `host` (loopback) even though it binds all interfaces."""

    name: str
    port: int
    ae_title: str
    process: subprocess.Popen[bytes]
    workdir: Path
    log_path: Path
    host: str = LOOPBACK
    http_url: str | None = None
    dicomweb_url: str | None = None  # the DICOMweb root (QIDO-RS, WADO-RS), where the bed serves it
    max_associations: int | None = None
    instance_count: int = 0
    timings: dict[str, float] = field(default_factory=dict)

    def open_associations(self) -> int:
        """Count server-side ESTABLISHED TCP connections on the DICOM port (i.e. open associations)."""
        return count_established(self.port)

    def log_tail(self, lines: int = 40) -> str:
        """Return the last lines of the server's log."""
        return log_tail(self.log_path, lines)

    def is_running(self) -> bool:
        """Return True while the server process is alive."""
        return self.process.poll() is None


def require_binary(path: str) -> str:
    """Return the absolute path of an executable or fail loudly (never skip)."""
    found = shutil.which(path)
    if found is None:
        raise PacsStartupError(f"required PACS binary not found: {path} (install the orthanc/dcmtk packages)")
    return found


def log_tail(path: Path, lines: int = 40) -> str:
    """Return the last `lines` lines of a log file, or a placeholder if unreadable."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"<cannot read {path}: {exc}>"
    return "\n".join(text.splitlines()[-lines:])


def start_process(
    argv: Sequence[str], log_path: Path, cwd: Path, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start a server in its own session with stdout+stderr appended to `log_path`."""
    with log_path.open("ab") as log:
        # Own session so stop_process can signal the whole group (dcmqrscp forks per association).
        return subprocess.Popen(
            list(argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            env=None if env is None else dict(env),
            start_new_session=True,
        )


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Terminate a server's process group and wait for it; escalate to SIGKILL after a deadline."""
    if process.poll() is None:
        _signal_group(process, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait(timeout=STOP_TIMEOUT)
    # Reap forked children that outlive the parent (e.g. dcmqrscp association handlers).
    _signal_group(process, signal.SIGKILL)


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def dcmtk_env() -> dict[str, str]:
    """Return an environment that makes DCMTK-based servers disable Nagle's algorithm."""
    # Debian's DCMTK leaves Nagle on unless TCP_NODELAY=1; with it on, every DIMSE message on loopback
    # stalls ~40 ms on delayed ACKs (storescu of 1,087 files: ~97 s instead of ~4 s).
    return {**os.environ, "TCP_NODELAY": "1"}


def wait_until(
    condition: Callable[[], bool],
    what: str,
    process: subprocess.Popen[bytes],
    log_path: Path,
    timeout: float = STARTUP_TIMEOUT,
) -> float:
    """Poll `condition` until true; raise with the log tail if the deadline passes or the process dies."""
    start = time.monotonic()
    deadline = start + timeout
    while not condition():
        if process.poll() is not None:
            raise PacsStartupError(
                f"{what}: server exited with code {process.returncode}\n--- log tail ---\n{log_tail(log_path)}"
            )
        if time.monotonic() > deadline:
            raise PacsStartupError(
                f"{what}: not ready after {timeout:.0f}s\n--- log tail ---\n{log_tail(log_path)}"
            )
        # Doubles as the poll interval and an early exit detector.
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=POLL_INTERVAL)
    return time.monotonic() - start


def c_echo(port: int, called_ae: str, host: str = LOOPBACK, calling_ae: str = "TESTBED") -> bool:
    """Return True if a C-ECHO on a fresh association succeeds."""
    ae = AE(ae_title=calling_ae)
    ae.add_requested_context(Verification)
    ae.acse_timeout = 5
    ae.dimse_timeout = 5
    ae.network_timeout = 5
    assoc = ae.associate(host, port, ae_title=called_ae)
    if not assoc.is_established:
        return False
    try:
        status = assoc.send_c_echo()
        return bool(status) and status.Status == 0x0000
    finally:
        assoc.release()


def c_find(
    port: int,
    called_ae: str,
    identifier: Dataset,
    model: str = STUDY_ROOT_FIND,
    host: str = LOOPBACK,
    calling_ae: str = "TESTBED",
) -> tuple[int, list[Dataset]]:
    """Run one C-FIND on a fresh association; return the final status and the matches."""
    ae = AE(ae_title=calling_ae)
    ae.add_requested_context(model)
    ae.acse_timeout = 10
    ae.dimse_timeout = 60
    ae.network_timeout = 60
    assoc = ae.associate(host, port, ae_title=called_ae)
    if not assoc.is_established:
        raise ConnectionError(f"association to {called_ae}@{host}:{port} failed")
    matches: list[Dataset] = []
    final = -1
    try:
        for status, match in assoc.send_c_find(identifier, model):
            final = int(status.Status) if status else -1
            if match is not None and final in (0xFF00, 0xFF01):
                matches.append(match)
    finally:
        assoc.release()
    return final, matches


def all_instances_query() -> Dataset:
    """Return a Study Root IMAGE-level identifier matching every instance on both servers."""
    ds = Dataset()
    ds.QueryRetrieveLevel = "IMAGE"
    # dcmqrscp rejects IMAGE queries whose identifier lacks these keys; empty (universal) values are fine.
    ds.StudyInstanceUID = ""
    ds.SeriesInstanceUID = ""
    ds.SOPInstanceUID = ""
    return ds


def count_instances(port: int, called_ae: str) -> int:
    """Count the instances a server reports through one IMAGE-level C-FIND."""
    status, matches = c_find(port, called_ae, all_instances_query())
    if status != 0x0000:
        raise PacsStartupError(f"counting C-FIND on {called_ae} failed with status 0x{status:04X}")
    return len(matches)
