"""Run the performance bench: `.venv/bin/python -m bench` from the repository root.

Starts its own Orthanc (the test data set plus a 2,000-instance series, a 512x512 CT and a
200-frame Enhanced CT), a storescp for C-MOVEs to send to (Orthanc also knows section j's
receivers), and the real service processes; measures the services against baselines taken in the
same run, and prints one table. Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from importlib.metadata import version
from pathlib import Path

from bench.baseline import baseline
from bench.big import big_query
from bench.dcmtk import DEST_NODE, run_storescp
from bench.far import far_load
from bench.frames import frames
from bench.memory import growth, renders, sessions
from bench.pacs import BIG_SERIES_SIZE, DICOM_THREADS, build_bench_dataset, run_bench_orthanc
from bench.reads import metadata, move, render
from bench.receiver import receiver, receiver_modalities
from bench.report import Report
from bench.sections import Bed, latency, load
from testbeds.netdelay import relay
from testbeds.pacs import RunningPacs
from testbeds.service import RunningService, run_service, service_env

ASSOCIATIONS = 16
# The two ways the service can run: associations reused for up to half a second after they
# open (the shipped default), and a fresh association per query.
MODES = {"default (reuse, ASSOCIATION_LIFETIME=0.5)": "0.5", "fresh (ASSOCIATION_LIFETIME=0)": "0"}
SECTIONS: dict[str, Callable[[Bed, Report], None]] = {  # in the order they run
    "sessions": sessions,
    "latency": latency,
    "big": big_query,
    "load": load,
    "far": far_load,
    "metadata": metadata,
    "move": move,
    "render": render,
    "frames": frames,
    "growth": growth,
    "render-memory": renders,
    "baseline": baseline,
    # Last: it installs the service's pynetdicom settings in the bench's own process.
    "receiver": receiver,
}


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description="dicom-mcp performance bench")
    parser.add_argument("--only", nargs="*", choices=list(SECTIONS), help="run only these sections")
    parser.add_argument("--latency-calls", type=int, default=200, help="sequential calls timed in a and i")
    parser.add_argument("--big-runs", type=int, default=5, help="runs of the 2,000-match query in c and i")
    parser.add_argument(
        "--clients", type=int, nargs="*", default=[16, 64, 200], help="concurrency levels in b"
    )
    parser.add_argument("--far-clients", type=int, nargs="*", default=[16], help="concurrency levels in e")
    parser.add_argument("--rtt-ms", type=float, default=20.0, help="round trip to the PACS in e")
    parser.add_argument(
        "--duration", type=float, default=10.0, help="seconds per concurrency level in b and i"
    )
    parser.add_argument("--sessions", type=int, default=10_000, help="sessions configured in d (before a-c)")
    parser.add_argument("--calls", type=int, default=100_000, help="calls for memory growth in d")
    parser.add_argument("--read-calls", type=int, default=100, help="calls timed per row in f, h and j")
    parser.add_argument(
        "--move-runs", type=int, default=5, help="retrievals of the 2,000-instance series in g and j"
    )
    parser.add_argument("--renders", type=int, default=1000, help="renders for memory in d")
    parser.add_argument(
        "--orthanc-threads", type=int, default=DICOM_THREADS, help="Orthanc DicomThreadsCount"
    )
    parser.add_argument(
        "--modes", nargs="*", choices=["default", "fresh"], help="service modes (default: both)"
    )
    return parser.parse_args(argv)


def _settings(options: argparse.Namespace, lifetime: str, relay_port: int, nodes: Path) -> dict[str, str]:
    return {
        "allowed_targets": f"127.0.0.1:{relay_port}",  # section e's PACS, behind the relay
        "nodes_file": str(nodes),  # section g's move destination
        "log_level": "WARNING",
        "max_limit": str(BIG_SERIES_SIZE),
        "max_associations": str(ASSOCIATIONS),
        "rate_limit_per_minute": "0",
        "max_sessions_per_principal": str(options.sessions * 2),
        "session_max_entries": str(options.sessions * 2),
        "association_lifetime": lifetime,
    }


def main(argv: list[str] | None = None) -> None:
    options = parse(argv)
    logging.basicConfig(level=logging.WARNING)
    report = Report()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="dicom-mcp-bench-") as tmp:
        root = Path(tmp)
        data = build_bench_dataset(root / "data")
        with run_storescp(root / "storescp") as destination:
            move_to: dict[str, list[str | int]] = {
                DEST_NODE: [destination.ae_title, "127.0.0.1", destination.port],
                **receiver_modalities(),  # section j's receivers, which Orthanc C-STOREs to
            }
            with run_bench_orthanc(root / "orthanc", data, options.orthanc_threads, move_to) as pacs:
                nodes = root / "nodes.toml"
                nodes.write_text(destination.nodes_toml(), encoding="utf-8")
                with ExitStack() as stack:
                    relay_port = stack.enter_context(relay(pacs.host, pacs.port, options.rtt_ms / 2))
                    services = _services(stack, root, pacs, options, relay_port, nodes)

                    def more_services(scope: ExitStack, other: RunningPacs) -> dict[str, RunningService]:
                        return _services(scope, root, other, options, relay_port, nodes)

                    bed = Bed(
                        pacs, services, data, options, relay_port, destination, root, more_services, move_to
                    )
                    _run(bed, report)
    report.notes.append(
        f"{platform.python_implementation()} {platform.python_version()}, pynetdicom {version('pynetdicom')}, "
        f"mcp {version('mcp')}, {os.cpu_count()} CPUs; Orthanc DicomThreadsCount {options.orthanc_threads}, "
        f"DICOM_MCP_MAX_ASSOCIATIONS {ASSOCIATIONS}; calls per point: see the options; bench took {time.monotonic() - started:.0f} s"
    )
    print()
    print(report.render())


def _services(
    stack: ExitStack,
    root: Path,
    pacs: RunningPacs,
    options: argparse.Namespace,
    relay_port: int,
    nodes: Path,
) -> dict[str, RunningService]:
    """Start the service in each mode asked for; `stack` stops them."""
    pacs_env = {"DICOM_HOST": pacs.host, "DICOM_PORT": str(pacs.port), "DICOM_CALLED_AE_TITLE": pacs.ae_title}
    return {
        label: stack.enter_context(
            run_service(root, service_env(pacs_env, **_settings(options, lifetime, relay_port, nodes)))
        )
        for label, lifetime in MODES.items()
        if not options.modes or label.split()[0] in options.modes
    }


def _run(bed: Bed, report: Report) -> None:
    """The sections asked for, in order; stop early if Orthanc dies."""
    for name, section in SECTIONS.items():
        if not bed.options.only or name in bed.options.only:
            print(f"running {name} ...", flush=True)
            section(bed, report)
            if bed.pacs.process.poll() is not None:  # every later answer would fail: say why
                report.notes.append(f"!! Orthanc exited ({bed.pacs.process.returncode}) during {name}")
                break


if __name__ == "__main__":
    main()
