"""Small measuring tools: percentiles, a process's RSS and CPU time (the PACS's associations: testbeds.net)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def percentile(samples: list[float], fraction: float) -> float:
    """The nearest-rank percentile of `samples` (fraction 0.5 = median)."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    rank = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


def rss_kib(pid: int) -> int:
    """Resident set size of a process, from /proc/PID/status (VmRSS, in KiB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def peak_rss_kib(pid: int) -> int:
    """The most a process has had resident since it started or since reset_peak_rss (VmHWM, in KiB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmHWM for process {pid}")


def reset_peak_rss(pid: int) -> None:
    """Set a process's VmHWM to its current RSS (Linux 4.0+, a process of the same user)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process (with its finished children) has used, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # Fields 14-17 of stat (utime, stime, cutime, cstime); the split starts at field 3.
    return sum(int(value) for value in fields[11:15]) / _TICKS


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (all CPUs), from /proc/stat."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / _TICKS  # all but idle and iowait


@dataclass
class CpuMeter:
    """CPU seconds each named process spends between start() and stop(), and everything else's."""

    pids: dict[str, int]
    used: dict[str, float] = field(default_factory=dict)
    others: float = 0.0  # processes outside the bench (another test run on the machine skews it)
    wall: float = 0.0  # seconds between start() and stop()
    _start: dict[str, float] = field(default_factory=dict)
    _machine: float = 0.0
    _started: float = 0.0

    def start(self) -> None:
        self._start = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        self._machine = machine_busy_seconds()
        self._started = time.monotonic()

    def stop(self) -> dict[str, float]:
        self.wall = time.monotonic() - self._started
        self.used = {name: cpu_seconds(pid) - self._start[name] for name, pid in self.pids.items()}
        self.others = max(machine_busy_seconds() - self._machine - sum(self.used.values()), 0.0)
        return self.used

    def busy(self) -> str:
        """Cores kept busy by the named processes, and by everything else, over the wall time."""
        wall = max(self.wall, 1e-9)
        return f"{sum(self.used.values()) / wall:.2f} cores busy; other processes {self.others / wall:.2f}"


class Stopwatch:
    """Elapsed wall-clock seconds since creation."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started
