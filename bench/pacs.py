"""The bench's PACS: the test data set plus a 2,000-instance series and a 512x512 CT, in an Orthanc with more threads.

`testbeds.pacs.run_orthanc` keeps Orthanc's test-bed `DicomThreadsCount` of 4, which would make the
PACS, not the service, the bottleneck with 16 associations; this launcher reuses the test bed's
configuration and plumbing and overrides only that.

Orthanc runs from a private copy of its binary: `scripts/test.sh` stops the Debian service with
`service orthanc stop`, whose init script ends with `start-stop-daemon --stop --retry=0/1/KILL/5
--exec /usr/sbin/Orthanc`, which SIGKILLs every process running that binary on the machine.
A test run started during a bench would otherwise kill the bench's PACS mid-measurement.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pydicom import dcmread
from pydicom.uid import UID

from bench.images import ImageKeys, write_ct
from testbeds.net import free_port, is_listening
from testbeds.pacs import Catalog, PacsStartupError, RunningPacs, build_dataset
from testbeds.pacs.common import c_echo, dcmtk_env, require_binary, wait_until
from testbeds.pacs.dataset import UID_ROOT
from testbeds.pacs.orthanc import ORTHANC_AET, ORTHANC_BINARY, orthanc_config, orthanc_get, upload_files

BIG_SERIES_SIZE = 2000
BIG_SERIES_NUMBER = 90
CT_SERIES_NUMBER = 91
# Enough DICOM worker threads for 16 simultaneous associations (the service's limit in the bench).
DICOM_THREADS = 32
# Orthanc's StorageAccessOnFind. The test bed's "Always" reads every matching instance's file to
# answer a C-FIND; "Never" answers from its index alone, as a PACS whose database holds what C-FIND
# returns does (findscu of the 2,000-instance series: about 0.45 s against 0.22 s on the bench's
# machine). Both match the same instances; "Never" answers SOPClassUID empty (1.10's index lacks it).
SLOW_FIND = "Always"
FAST_FIND = "Never"


@dataclass(frozen=True)
class BenchData:
    """The test catalog plus the bench's extra series (added to an existing CT study)."""

    catalog: Catalog
    big_series_uid: str
    big_study_uid: str
    big_sop_uids: frozenset[str]
    ct: ImageKeys  # the 512x512 CT with pixel data (bench/images.py), alone in its series

    @property
    def instance_count(self) -> int:
        return self.catalog.instance_count + BIG_SERIES_SIZE + 1

    @property
    def small(self) -> ImageKeys:
        """The big series' first instance: a header without pixel data (744 bytes)."""
        return ImageKeys(self.big_study_uid, self.big_series_uid, f"{self.big_series_uid}.1")


def build_bench_dataset(directory: Path) -> BenchData:
    """Write the test data set, then a 2,000-instance CT series and a 512x512 CT into the study of PAT004."""
    catalog = build_dataset(directory)
    study = catalog.studies_for_patient("PAT004")[0]
    template_series = catalog.series_for_study(study.study_uid)[0]
    template = catalog.instances_for_series(template_series.series_uid)[0]
    ds = dcmread(directory / template.filename)
    ct = write_ct(ds, f"{UID_ROOT}9.{CT_SERIES_NUMBER}", directory / "bench_ct.dcm")
    series_uid = f"{UID_ROOT}9.{BIG_SERIES_NUMBER}"
    ds.SeriesInstanceUID = UID(series_uid)
    ds.SeriesNumber = BIG_SERIES_NUMBER
    ds.SeriesDescription = "BENCH 2000"
    sop_uids: set[str] = set()
    for n in range(1, BIG_SERIES_SIZE + 1):
        sop_uid = f"{series_uid}.{n}"
        ds.SOPInstanceUID = UID(sop_uid)
        ds.file_meta.MediaStorageSOPInstanceUID = UID(sop_uid)
        ds.InstanceNumber = n
        ds.save_as(directory / f"bench_{n:05d}.dcm", enforce_file_format=True)
        sop_uids.add(sop_uid)
    return BenchData(catalog, series_uid, study.study_uid, frozenset(sop_uids), ct)


def _http_port(pacs: RunningPacs) -> int:
    assert pacs.http_url is not None
    return int(pacs.http_url.rsplit(":", 1)[1])


def _rest_ready(pacs: RunningPacs) -> bool:
    try:
        orthanc_get(pacs, "/system")
    except (OSError, PacsStartupError, ValueError):
        return False
    return True


def _start(
    workdir: Path, threads: int, modalities: dict[str, list[str | int]], storage_access: str
) -> RunningPacs:
    binary = workdir / "orthanc-bench"  # a copy: out of reach of start-stop-daemon --exec (see above)
    shutil.copy2(require_binary(ORTHANC_BINARY), binary)
    dicom_port, http_port = free_port(), free_port()
    config = orthanc_config(workdir, dicom_port, http_port, "Utf8")
    config["DicomThreadsCount"] = threads
    config["DicomModalities"] = modalities
    config["DicomAlwaysAllowMove"] = True  # the bench's callers are not modalities Orthanc knows
    config["StorageAccessOnFind"] = storage_access
    config_path = workdir / "orthanc.json"
    config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    log_path = workdir / "orthanc.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [binary, str(config_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=workdir,
            env=dcmtk_env(),
        )
    pacs = RunningPacs(
        "orthanc",
        dicom_port,
        ORTHANC_AET,
        process,
        workdir,
        log_path,
        http_url=f"http://127.0.0.1:{http_port}",
    )
    try:
        wait_until(lambda: _rest_ready(pacs), "Orthanc REST", process, log_path)
        wait_until(
            lambda: is_listening(dicom_port) and c_echo(dicom_port, ORTHANC_AET),
            "Orthanc C-ECHO",
            process,
            log_path,
        )
    except PacsStartupError:
        _stop(process)
        raise
    return pacs


@contextmanager
def run_bench_orthanc(
    workdir: Path,
    data: BenchData,
    threads: int = DICOM_THREADS,
    modalities: dict[str, list[str | int]] | None = None,
    storage_access: str = SLOW_FIND,
) -> Iterator[RunningPacs]:
    """Run Orthanc with `threads` DICOM threads and the bench data set loaded; stop it on exit.

    `modalities` become its DicomModalities (name -> [AE title, host, port]): the C-MOVE destinations.
    `storage_access` is its StorageAccessOnFind (SLOW_FIND, the test bed's, or FAST_FIND).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    assert data.catalog.directory is not None
    pacs = _start(workdir, threads, modalities or {}, storage_access)
    try:
        started = time.monotonic()
        upload_files(_http_port(pacs), sorted(data.catalog.directory.glob("*.dcm")))
        pacs.timings["load"] = time.monotonic() - started
        pacs.instance_count = int(orthanc_get(pacs, "/statistics")["CountInstances"])
        if pacs.instance_count != data.instance_count:
            raise PacsStartupError(
                f"Orthanc holds {pacs.instance_count} instances, expected {data.instance_count}"
            )
        yield pacs
    finally:
        _stop(pacs.process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (Orthanc takes ~2.5 s), then SIGKILL; only this process, never a group."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
