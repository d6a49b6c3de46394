"""`python -m dicom_mcp.demo.load`, for real: an empty Orthanc it loads answers as the sample PACS does.

deploy/docker-compose.yml runs this loader before dicom-mcp starts, so that `docker compose up`
gives the first session of `dicom-mcp --demo`. The loader runs here as a subprocess, as there.
Orthanc is the test bed's, started empty; the faults come from small in-process storage SCPs.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, evt

from dicom_mcp.demo import SamplePacs, sample_datasets, start_sample_pacs
from dicom_mcp.demo.data import plan
from dicom_mcp.dimse.scu import VERIFICATION
from testbeds.faults import closed_port, stop_server
from testbeds.pacs import PATIENT_ROOT_FIND, STUDY_ROOT_FIND, RunningPacs
from testbeds.pacs.orthanc import orthanc_get, run_orthanc
from tests.demo.test_like_orthanc import (
    EVERY_INSTANCE_KEY,
    EVERY_PATIENT_KEY,
    EVERY_SERIES_KEY,
    EVERY_STUDY_KEY,
    answers,
)

LOADER = [sys.executable, "-m", "dicom_mcp.demo.load"]
SUMMARY = "stored 70 instances (5 patients, 7 studies, 12 series; 0 with a warning) into ORTHANC@127.0.0.1:"
# What would betray a sample patient in a log, were the data real.
PATIENT_TERMS = [term for p in plan.PATIENTS for term in (p.patient_id, p.name, p.birth_date)]

CASES: list[tuple[str, str, str | None, dict[str, Any]]] = [
    ("PATIENT", PATIENT_ROOT_FIND, None, EVERY_PATIENT_KEY),
    ("PATIENT", PATIENT_ROOT_FIND, "ISO_IR 192", {"PatientID": "", "PatientName": "DEMO^Zo*"}),
    ("STUDY", STUDY_ROOT_FIND, None, EVERY_STUDY_KEY),
    ("STUDY", STUDY_ROOT_FIND, None, {"StudyInstanceUID": "", "ModalitiesInStudy": "SR"}),
    ("SERIES", STUDY_ROOT_FIND, None, EVERY_SERIES_KEY),
    ("IMAGE", STUDY_ROOT_FIND, None, EVERY_INSTANCE_KEY),
]


@dataclass
class StorageScp:
    """An in-process storage SCP: which transfer syntaxes arrived, for how many C-STOREs."""

    port: int
    syntaxes: list[UID] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def storage_scp(syntaxes: list[str], status: int, port: int = 0) -> Iterator[StorageScp]:
    """Accept every sample SOP class in `syntaxes` only, and answer every C-STORE with `status`."""
    ae = AE(ae_title="STORE")
    for sop_class in sorted({str(ds.SOPClassUID) for ds in sample_datasets()}):
        ae.add_supported_context(sop_class, syntaxes)
    scp = StorageScp(port)

    def on_store(event: evt.Event) -> int:
        with scp.lock:
            scp.syntaxes.append(UID(event.context.transfer_syntax))
        return status

    server = ae.start_server(("127.0.0.1", port), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)])
    assert server is not None  # only a blocking start returns None
    scp.port = int(server.server_address[1])
    try:
        yield scp
    finally:
        stop_server(server)


def load(port: int, called_ae: str = "ORTHANC", wait: float = 30) -> subprocess.CompletedProcess[str]:
    argv = [
        *LOADER,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--called-ae",
        called_ae,
        "--wait",
        str(wait),
    ]
    return subprocess.run(argv, capture_output=True, text=True, timeout=wait + 60)


def one_failure_line(run: subprocess.CompletedProcess[str]) -> str:
    """The loader failed with status 1 and said why in one line, on stderr."""
    assert run.returncode == 1, run.stdout + run.stderr
    assert run.stdout == ""
    (line,) = run.stderr.splitlines()
    assert line.startswith("python -m dicom_mcp.demo.load: ")
    return line


@pytest.fixture(scope="module")
def sample() -> Iterator[SamplePacs]:
    """The sample PACS of `--demo`, with its own data set."""
    with start_sample_pacs(sample_datasets()) as pacs:
        yield pacs


@pytest.fixture(scope="module")
def empty_orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPacs]:
    """A fresh Orthanc holding nothing, answering in UTF-8 as the compose file's does."""
    with run_orthanc(tmp_path_factory.mktemp("orthanc"), None) as pacs:
        yield pacs


@pytest.fixture(scope="module")
def first_load(empty_orthanc: RunningPacs) -> subprocess.CompletedProcess[str]:
    """The loader's first run into the empty Orthanc."""
    assert orthanc_get(empty_orthanc, "/statistics")["CountInstances"] == 0
    return load(empty_orthanc.port)


@pytest.mark.pacs
def test_the_loader_stores_every_instance_and_logs_counts_only(
    empty_orthanc: RunningPacs, first_load: subprocess.CompletedProcess[str], sample: SamplePacs
) -> None:
    assert first_load.returncode == 0, first_load.stderr
    (line,) = (first_load.stdout + first_load.stderr).splitlines()
    assert line.startswith(SUMMARY)
    assert not [term for term in PATIENT_TERMS if term in line]
    stats = orthanc_get(empty_orthanc, "/statistics")
    counts = [stats[f"Count{level}"] for level in ("Patients", "Studies", "Series", "Instances")]
    assert counts == [len(sample.index.entities(level)) for level in ("PATIENT", "STUDY", "SERIES", "IMAGE")]


@pytest.mark.pacs
@pytest.mark.parametrize(
    ("level", "model", "charset", "keys"),
    CASES,
    ids=[f"{case[0].lower()}-{n}" for n, case in enumerate(CASES)],
)
def test_the_loaded_orthanc_answers_as_the_sample_pacs(
    empty_orthanc: RunningPacs,
    first_load: subprocess.CompletedProcess[str],
    sample: SamplePacs,
    level: str,
    model: str,
    charset: str | None,
    keys: dict[str, Any],
) -> None:
    assert first_load.returncode == 0, first_load.stderr
    expected = answers(sample.port, sample.ae_title, level, model, charset, keys)
    assert expected[1], "the case matches nothing: it would compare nothing"
    assert answers(empty_orthanc.port, empty_orthanc.ae_title, level, model, charset, keys) == expected


@pytest.mark.pacs
def test_loading_again_stores_nothing_new(
    empty_orthanc: RunningPacs, first_load: subprocess.CompletedProcess[str]
) -> None:
    assert first_load.returncode == 0, first_load.stderr
    before = orthanc_get(empty_orthanc, "/statistics")
    again = load(empty_orthanc.port)
    assert again.returncode == 0, again.stderr
    assert SUMMARY in again.stderr
    assert orthanc_get(empty_orthanc, "/statistics") == before


def test_an_unreachable_pacs_ends_it_with_one_line_once_the_wait_is_over() -> None:
    started = time.monotonic()
    run = load(closed_port(), wait=2)
    elapsed = time.monotonic() - started
    line = one_failure_line(run)
    assert "could not open a TCP connection to ORTHANC@127.0.0.1:" in line
    assert line.endswith("(waited 2 s)")
    assert 2 <= elapsed < 10


def test_a_pacs_that_starts_late_is_waited_for() -> None:
    port = closed_port()
    argv = [*LOADER, "--host", "127.0.0.1", "--port", str(port), "--called-ae", "STORE", "--wait", "30"]
    loader = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(2)  # not a readiness wait: the PACS is late on purpose, refusing connections meanwhile
        assert loader.poll() is None, loader.communicate()
        with storage_scp([ExplicitVRLittleEndian], 0x0000, port) as scp:
            _, stderr = loader.communicate(timeout=60)
    finally:
        loader.kill()
    assert loader.returncode == 0, stderr
    assert len(scp.syntaxes) == 70


def test_a_refused_store_ends_it_with_one_line() -> None:
    with storage_scp(ALL_TRANSFER_SYNTAXES, 0xA700) as scp:
        run = load(scp.port, called_ae="STORE")
    line = one_failure_line(run)
    assert line.endswith(
        "refused instance 1 of 70 (CT Image Storage): C-STORE status 0xA700 (out of resources)"
    )
    assert len(scp.syntaxes) == 1


def test_a_rejected_association_is_not_waited_out(sample: SamplePacs) -> None:
    started = time.monotonic()
    run = load(sample.port, called_ae="NOT-SAMPLE", wait=30)
    assert "rejected the association" in one_failure_line(run)
    assert time.monotonic() - started < 15


def test_a_pacs_that_stores_none_of_the_classes_is_told_apart_from_one_that_is_down() -> None:
    ae = AE(ae_title="ECHO-ONLY")
    ae.add_supported_context(VERIFICATION)
    server = ae.start_server(("127.0.0.1", 0), block=False)
    assert server is not None
    try:
        run = load(int(server.server_address[1]), called_ae="ECHO-ONLY", wait=0)
    finally:
        stop_server(server)
    line = one_failure_line(run)
    assert "ECHO-ONLY@127.0.0.1:" in line and "accepted no presentation context for " in line
    names = {UID(str(ds.SOPClassUID)).name for ds in sample_datasets()}
    assert set(line.split(" accepted no presentation context for ")[1].split(", ")) == names


def test_compressed_instances_go_as_stored_or_uncompressed_where_a_pacs_takes_no_compressed_syntax() -> None:
    with storage_scp(ALL_TRANSFER_SYNTAXES, 0x0000) as scp:
        assert load(scp.port, called_ae="STORE").returncode == 0
    stored = {UID(ds.file_meta.TransferSyntaxUID) for ds in sample_datasets()}
    assert set(scp.syntaxes) == stored and any(syntax.is_compressed for syntax in stored)
    with storage_scp([ImplicitVRLittleEndian, ExplicitVRLittleEndian], 0x0000) as scp:
        assert load(scp.port, called_ae="STORE").returncode == 0
    assert len(scp.syntaxes) == 70 and not any(syntax.is_compressed for syntax in scp.syntaxes)
    with storage_scp([ImplicitVRLittleEndian], 0x0000) as scp:  # only DICOM's default syntax
        assert load(scp.port, called_ae="STORE").returncode == 0
    assert scp.syntaxes == [ImplicitVRLittleEndian] * 70
