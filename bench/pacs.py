"""The bench's PACS: the test data set plus a 2,000-instance series, a 512x512 CT and a 200-frame
Enhanced CT, in an Orthanc with more threads.

`testbeds.pacs.run_orthanc` keeps Orthanc's test-bed `DicomThreadsCount` of 4, which would make the
PACS, not the service, the bottleneck with 16 associations; this launcher reuses the test bed's
configuration and plumbing and overrides only that.

Orthanc runs from a private copy of its binary: `scripts/test.sh` stops the Debian service with
`service orthanc stop`, whose init script ends with `start-stop-daemon --stop --retry=0/1/KILL/5
--exec /usr/sbin/Orthanc`, which SIGKILLs every process running that binary on the machine.
A test run started during a bench would otherwise kill the bench's PACS mid-measurement.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID

from bench.images import NOISE_HU, WINDOW, ImageKeys, write_ct
from testbeds.enhanced import ENHANCED_CT, hounsfield_frames
from testbeds.net import free_port, is_listening
from testbeds.pacs import Catalog, PacsStartupError, RunningPacs, build_dataset
from testbeds.pacs.common import c_echo, dcmtk_env, require_binary, wait_until
from testbeds.pacs.dataset import UID_ROOT
from testbeds.pacs.orthanc import ORTHANC_AET, ORTHANC_BINARY, orthanc_config, orthanc_get, upload_files

BIG_SERIES_SIZE = 2000
BIG_SERIES_NUMBER = 90
CT_SERIES_NUMBER = 91
FRAMES_SERIES_NUMBER = 92
FRAMES, FRAME_SIZE = 200, 256  # the Enhanced CT: 200 frames of 256x256, 16 bits (25.0 MiB of pixels)
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
    small: ImageKeys  # an instance of the test data set: a header without pixel data (< 1 KiB)
    frames: ImageKeys  # the 200-frame Enhanced CT (write_frames), alone in its series

    @property
    def instance_count(self) -> int:
        return self.catalog.instance_count + BIG_SERIES_SIZE + 2


def build_bench_dataset(directory: Path) -> BenchData:
    """Write the test data set, then a 2,000-instance CT series, a 512x512 CT and a 200-frame Enhanced CT
    into the study of PAT004.

    Each instance of the series is the 512x512 CT slice under its own UIDs (512 KiB each, 1,002 MiB
    in all): the figures in docs/developers/bench.md for sections c, f, g and j were measured on that series.
    """
    catalog = build_dataset(directory)
    study = catalog.studies_for_patient("PAT004")[0]
    template_series = catalog.series_for_study(study.study_uid)[0]
    template = catalog.instances_for_series(template_series.series_uid)[0]
    ds = dcmread(directory / template.filename)
    small = ImageKeys(study.study_uid, template_series.series_uid, template.sop_uid)
    ct = write_ct(copy.deepcopy(ds), f"{UID_ROOT}9.{CT_SERIES_NUMBER}", directory / "bench_ct.dcm")
    frames = write_frames(
        copy.deepcopy(ds), f"{UID_ROOT}9.{FRAMES_SERIES_NUMBER}", directory / "bench_frames.dcm"
    )
    ds = dcmread(directory / "bench_ct.dcm")  # the series: the CT slice, under the series' UIDs
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
    return BenchData(catalog, series_uid, study.study_uid, frozenset(sop_uids), ct, small, frames)


def phantom_volume(frames: int = FRAMES, size: int = FRAME_SIZE) -> np.ndarray:
    """Stored values (HU + 1024) of a chest phantom, one slice per frame, each different.

    The body narrows towards both ends, the lungs come and go, a bone ring stays, and a
    sphere of +200 HU (a lesion) is widest at the middle frame; every frame has its own noise.
    """
    y, x = np.mgrid[0:size, 0:size] / size - 0.5
    rng = np.random.default_rng(FRAMES_SERIES_NUMBER)
    stored = np.empty((frames, size, size), np.uint16)
    for k in range(frames):
        z = k / (frames - 1) - 0.5  # -0.5 (first frame) .. +0.5 (last)
        scale = np.sqrt(max(1 - (z / 0.7) ** 2, 0.0))
        hu = np.full((size, size), -1000.0)
        hu[(x / (0.45 * scale)) ** 2 + (y / (0.35 * scale)) ** 2 <= 1] = 0
        lung = np.sqrt(max(1 - (z / 0.4) ** 2, 0.0))
        for centre in (-0.18, 0.18):
            hu[((x - centre) / (0.12 * lung + 1e-9)) ** 2 + (y / (0.2 * lung + 1e-9)) ** 2 <= 1] = -800
        radius = x**2 + (y + 0.2) ** 2
        hu[(radius <= 0.06**2) & (radius >= 0.035**2)] = 1000
        hu[(x - 0.1) ** 2 + (y - 0.05) ** 2 + z**2 <= 0.06**2] = 200
        hu += rng.normal(0.0, NOISE_HU, hu.shape)
        stored[k] = np.clip(np.rint(hu + 1024), 0, 4095)
    return stored


def write_frames(template: Dataset, series_uid: str, path: Path) -> ImageKeys:
    """Save an Enhanced CT of `template`'s study: the phantom volume as 200 frames of one instance.

    The rescale (-1024, HU) sits in the Shared Functional Groups and a window per frame in the
    Per-frame Functional Groups (testbeds.enhanced), as an Enhanced CT scanner writes them.
    """
    ds = copy.deepcopy(template)  # the template stays as it was (pydicom's copy() shares its elements)
    ds.file_meta = FileMetaDataset(template.file_meta)
    sop_uid = f"{series_uid}.1"
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = UID(ENHANCED_CT)
    ds.SeriesInstanceUID = UID(series_uid)
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = UID(sop_uid)
    ds.SeriesNumber, ds.InstanceNumber = FRAMES_SERIES_NUMBER, 1
    ds.SeriesDescription = f"BENCH ENHANCED CT {FRAMES} FRAMES"
    ds.Rows = ds.Columns = FRAME_SIZE
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    hounsfield_frames(ds, list(phantom_volume()), (WINDOW,) * FRAMES, spacing=1.4, thickness=1.5)
    ds["PixelData"].VR = "OW"
    ds.save_as(path, enforce_file_format=True)
    return ImageKeys(str(ds.StudyInstanceUID), series_uid, sop_uid)


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
