"""Launch a throw-away Orthanc loaded with the synthetic data set."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from testbeds.net import free_port, is_listening
from testbeds.pacs.common import (
    LOOPBACK,
    PacsStartupError,
    RunningPacs,
    c_echo,
    dcmtk_env,
    require_binary,
    start_process,
    stop_process,
    wait_until,
)
from testbeds.store import Destination

ORTHANC_BINARY = "/usr/sbin/Orthanc"
ORTHANC_AET = "ORTHANC"
# Debian's orthanc-dicomweb: QIDO-RS and WADO-RS under DICOMWEB_ROOT, on the REST port.
DICOMWEB_PLUGIN = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"
DICOMWEB_ROOT = "/dicom-web"
# Orthanc serialises SQLite writes; a few connections still overlap HTTP parsing and file I/O.
UPLOAD_WORKERS = 4
START_ATTEMPTS = 3  # the free port we picked may be grabbed before Orthanc binds it


def orthanc_config(
    workdir: Path,
    dicom_port: int,
    http_port: int,
    default_encoding: str,
    move_destinations: Sequence[Destination] = (),
    *,
    disable_get: bool = False,
) -> dict[str, Any]:
    """Return the Orthanc 1.10 configuration for a permissive, unlimited, loopback-only test bed.

    `move_destinations` are the AEs a C-MOVE may name (Orthanc sends only to modalities it knows).
    With `disable_get`, Orthanc serves no C-GET: not to an unknown caller (`DicomAlwaysAllowGet`)
    and not to a move destination calling under its own AE title (its modality's `AllowGet`).
    """
    return {
        "Name": "dicom-mcp-testbed",
        "StorageDirectory": str(workdir / "storage"),
        "IndexDirectory": str(workdir / "index"),
        "Plugins": [DICOMWEB_PLUGIN],  # named one by one: never pick up other Debian system plugins
        "DicomWeb": {"Enable": True, "Root": f"{DICOMWEB_ROOT}/", "EnableWado": False},
        "LuaScripts": [],
        "DicomServerEnabled": True,
        "DicomAet": ORTHANC_AET,
        "DicomPort": dicom_port,
        "HttpServerEnabled": True,
        "HttpPort": http_port,
        # REST is reachable from loopback only and needs no credentials.
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        # Accept any calling AE title (not listed in DicomModalities) and any called AE title.
        "DicomCheckCalledAet": False,
        "DicomCheckModalityHost": False,
        "DicomAlwaysAllowEcho": True,
        "DicomAlwaysAllowFind": True,
        "DicomAlwaysAllowStore": True,
        "DicomAlwaysAllowGet": not disable_get,
        "DicomAlwaysAllowMove": True,
        "DicomModalities": {d.ae_title.lower(): _modality(d, disable_get) for d in move_destinations},
        # 0 = no cap on C-FIND answers (patient/study/series and instance level).
        "LimitFindResults": 0,
        "LimitFindInstances": 0,
        # Orthanc answers C-FIND in DefaultEncoding whatever the query says; Latin1 (the stock default)
        # silently drops Japanese/Cyrillic characters, so use UTF-8 unless a test asks otherwise.
        "DefaultEncoding": default_encoding,
        "CaseSensitivePN": False,  # stock default, stated explicitly: Orthanc PN matching is case-insensitive
        "StorageAccessOnFind": "Always",
        "DicomThreadsCount": 4,
        "DicomScpTimeout": 30,
        # Speed up ingestion: no fsync per file, no MD5, no job persistence, no gzip on loopback.
        "SyncStorageArea": False,
        "StoreMD5ForAttachments": False,
        "SaveJobs": False,
        "HttpCompressionEnabled": False,
        "WebDavEnabled": False,
    }


def _modality(destination: Destination, disable_get: bool) -> list[Any] | dict[str, Any]:
    """A `DicomModalities` entry: the short form, or the object form (Orthanc >= 1.5) refusing C-GET."""
    if not disable_get:
        return [destination.ae_title, destination.host, destination.port]
    # Every other "Allow*" option defaults to true, as in the short form.
    return {
        "AET": destination.ae_title,
        "Host": destination.host,
        "Port": destination.port,
        "AllowGet": False,
    }


def _http_get_json(http_port: int, path: str) -> Any:
    """GET a REST resource from the local Orthanc and decode its JSON."""
    conn = http.client.HTTPConnection(LOOPBACK, http_port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise PacsStartupError(f"GET {path} -> HTTP {response.status}: {body[:200]!r}")
        return json.loads(body)
    finally:
        conn.close()


def _rest_ready(http_port: int) -> bool:
    """Return True once GET /system answers."""
    try:
        _http_get_json(http_port, "/system")
    except (OSError, PacsStartupError, http.client.HTTPException, ValueError):
        return False
    return True


def _upload_chunk(http_port: int, files: list[Path]) -> int:
    """POST files to /instances over one keep-alive connection; return how many were stored."""
    conn = http.client.HTTPConnection(LOOPBACK, http_port, timeout=60)
    stored = 0
    try:
        for path in files:
            conn.request(
                "POST", "/instances", body=path.read_bytes(), headers={"Content-Type": "application/dicom"}
            )
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                raise PacsStartupError(f"upload of {path.name} failed: HTTP {response.status} {body[:200]!r}")
            stored += 1
    finally:
        conn.close()
    return stored


def upload_files(http_port: int, files: list[Path], workers: int = UPLOAD_WORKERS) -> int:
    """Upload DICOM files through the REST API with a few parallel connections."""
    chunks = [files[i::workers] for i in range(workers)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return sum(pool.map(lambda chunk: _upload_chunk(http_port, chunk), chunks))


def _start(
    workdir: Path, default_encoding: str, move_destinations: Sequence[Destination], disable_get: bool
) -> RunningPacs:
    """Start Orthanc on fresh ports and wait for REST and C-ECHO readiness."""
    binary = require_binary(ORTHANC_BINARY)
    if not Path(DICOMWEB_PLUGIN).is_file():
        raise PacsStartupError(f"{DICOMWEB_PLUGIN} not found (install the orthanc-dicomweb package)")
    log_path = workdir / "orthanc.log"
    last_error: PacsStartupError | None = None
    for _ in range(START_ATTEMPTS):
        dicom_port, http_port = free_port(), free_port()
        config_path = workdir / "orthanc.json"
        config = orthanc_config(
            workdir, dicom_port, http_port, default_encoding, move_destinations, disable_get=disable_get
        )
        config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")
        started = time.monotonic()
        process = start_process([binary, str(config_path)], log_path, workdir, env=dcmtk_env())
        pacs = RunningPacs(
            "orthanc",
            dicom_port,
            ORTHANC_AET,
            process,
            workdir,
            log_path,
            http_url=f"http://{LOOPBACK}:{http_port}",
            dicomweb_url=f"http://{LOOPBACK}:{http_port}{DICOMWEB_ROOT}",
        )
        try:
            wait_until(lambda: _rest_ready(http_port), "Orthanc REST /system", process, log_path)
            wait_until(
                lambda: is_listening(dicom_port) and c_echo(dicom_port, ORTHANC_AET),
                "Orthanc C-ECHO",
                process,
                log_path,
            )
        except PacsStartupError as exc:
            stop_process(process)
            last_error = exc
            continue
        pacs.timings["start"] = time.monotonic() - started
        return pacs
    assert last_error is not None
    raise last_error


def _load(pacs: RunningPacs, dataset_dir: Path) -> None:
    """Upload every *.dcm file and check Orthanc's own instance count matches."""
    files = sorted(dataset_dir.rglob("*.dcm"))
    if not files:
        raise PacsStartupError(f"no *.dcm files under {dataset_dir}")
    started = time.monotonic()
    http_port = _http_port(pacs)
    upload_files(http_port, files)
    stats = _http_get_json(http_port, "/statistics")
    pacs.timings["load"] = time.monotonic() - started
    count = int(stats["CountInstances"])
    if count != len(files):
        raise PacsStartupError(f"Orthanc holds {count} instances, expected {len(files)}\n{pacs.log_tail()}")
    pacs.instance_count = count


def _http_port(pacs: RunningPacs) -> int:
    """Return the REST port of an Orthanc RunningPacs."""
    assert pacs.http_url is not None
    return int(pacs.http_url.rsplit(":", 1)[1])


def orthanc_get(pacs: RunningPacs, path: str) -> Any:
    """GET a JSON REST resource (e.g. '/statistics', '/system') from a running Orthanc."""
    return _http_get_json(_http_port(pacs), path)


@contextmanager
def run_orthanc(
    workdir: Path,
    dataset_dir: Path | None,
    *,
    default_encoding: str = "Utf8",
    move_destinations: Sequence[Destination] = (),
    disable_get: bool = False,
) -> Iterator[RunningPacs]:
    """Run Orthanc with the data set from `dataset_dir` loaded (empty with None); stop it
    (SIGTERM, ~2.5 s) on exit.

    A C-MOVE may send to `move_destinations` (by AE title). With `disable_get` it refuses every
    C-GET, as a PACS that offers C-FIND and C-MOVE only.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    pacs = _start(workdir, default_encoding, move_destinations, disable_get)
    try:
        if dataset_dir is not None:
            _load(pacs, dataset_dir)
        pacs.timings["total"] = pacs.timings["start"] + pacs.timings.get("load", 0.0)
        yield pacs
    finally:
        stop_process(pacs.process)
