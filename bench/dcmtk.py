"""DCMTK baselines for the reading sections (getscu, movescu, dcmj2pnm) and the move destination (storescp).

Each tool is timed as a subprocess, start-up included, as a user would run it, with DCMTK's
TCP_NODELAY switch on (as `direct.run_findscu`). The destination is one storescp writing into a
directory; the service's moves and movescu's go to it alike.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.direct import BENCH_AET
from bench.images import ImageKeys
from testbeds.net import free_port, is_listening
from testbeds.pacs import RunningPacs
from testbeds.pacs.common import dcmtk_env, require_binary, start_process, stop_process, wait_until

DEST_AET = "BENCHDEST"
DEST_NODE = "dest"  # its name in the service's nodes file and in Orthanc's DicomModalities


def _run(argv: list[str]) -> float:
    """Run one DCMTK tool; return the seconds it took, or raise with its output if it failed."""
    started = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, env=dcmtk_env(), check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(
            f"{argv[0]} failed ({result.returncode}): {(result.stdout + result.stderr)[-500:]!r}"
        )
    return elapsed


def _peer(pacs: RunningPacs) -> list[str]:
    return ["-S", "-aet", BENCH_AET, "-aec", pacs.ae_title]


def _identifier(study: str, series: str, sop: str | None = None) -> list[str]:
    """`-k` keys naming one series (SERIES level) or, with `sop`, one instance (IMAGE level)."""
    keys = [
        "-k", f"QueryRetrieveLevel={'IMAGE' if sop else 'SERIES'}",
        "-k", f"StudyInstanceUID={study}",
        "-k", f"SeriesInstanceUID={series}",
    ]  # fmt: skip
    return [*keys, "-k", f"SOPInstanceUID={sop}"] if sop else keys


def getscu(pacs: RunningPacs, keys: ImageKeys, directory: Path) -> float:
    """C-GET one instance into `directory` (a file named after its SOP Instance UID); seconds taken."""
    identifier = _identifier(keys.study, keys.series, keys.sop)
    return _run(["getscu", *_peer(pacs), *identifier, "-od", str(directory), pacs.host, str(pacs.port)])


def getscu_series(pacs: RunningPacs, study: str, series: str, directory: Path) -> float:
    """C-GET one series into `directory` (a file per instance, named MODALITY.UID); seconds taken."""
    identifier = _identifier(study, series)
    return _run(["getscu", *_peer(pacs), *identifier, "-od", str(directory), pacs.host, str(pacs.port)])


def movescu(pacs: RunningPacs, study: str, series: str, destination: str, sop: str | None = None) -> float:
    """C-MOVE one series (or, with `sop`, one instance of it) to the AE title `destination`; seconds taken."""
    identifier = _identifier(study, series, sop)
    return _run(["movescu", *_peer(pacs), "-aem", destination, *identifier, pacs.host, str(pacs.port)])


def dcmj2pnm(source: Path, target: Path, center: float, width: float) -> float:
    """Render a DICOM file as an 8-bit PNG with the window `center`/`width`; seconds taken."""
    return _run(["dcmj2pnm", "+Ww", f"{center:g}", f"{width:g}", "--write-png", str(source), str(target)])


@dataclass(frozen=True)
class Destination:
    """A running storescp: where C-MOVEs send, and what it has received."""

    port: int
    directory: Path
    ae_title: str = DEST_AET

    def received(self) -> list[str]:
        """SOP Instance UIDs of the files received (storescp names them MODALITY.UID)."""
        return [path.name.split(".", 1)[1] for path in self.directory.iterdir()]

    def clear(self) -> None:
        for path in self.directory.iterdir():
            path.unlink()

    def nodes_toml(self) -> str:
        """The service's nodes file: this destination, marked for moves."""
        return (
            f'[nodes.{DEST_NODE}]\nhost = "127.0.0.1"\nport = {self.port}\nae_title = "{self.ae_title}"\n'
            'description = "the bench storescp"\nmove_destination = true\n'
        )


@contextmanager
def run_storescp(workdir: Path) -> Iterator[Destination]:
    """Run storescp on a free port, writing what it receives into `workdir`/received; stop it after."""
    directory = workdir / "received"
    directory.mkdir(parents=True)
    port, log_path = free_port(), workdir / "storescp.log"
    argv = [require_binary("storescp"), "-aet", DEST_AET, "-od", str(directory), str(port)]
    process = start_process(argv, log_path, workdir, dcmtk_env())
    try:
        wait_until(lambda: is_listening(port), "storescp", process, log_path)
        yield Destination(port, directory)
    finally:
        stop_process(process)
        shutil.rmtree(directory, ignore_errors=True)
