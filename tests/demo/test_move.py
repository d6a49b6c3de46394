"""The sample PACS's C-MOVE, in this process: to the sample archive, and to destinations that take less.

A raw pynetdicom C-MOVE SCU asks; the sample archive (`SAMPLE-ARCHIVE`) and a narrow storage SCP
of this module (`NARROW`: CT images, uncompressed, only) receive. The expected counts come from the
sample data's own index.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from pydicom.dataset import Dataset
from pydicom.uid import ImplicitVRLittleEndian
from pynetdicom import AE, evt
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from dicom_mcp.demo import (
    ARCHIVE_AE_TITLE,
    SampleArchive,
    SamplePacs,
    start_sample_archive,
    start_sample_pacs,
)
from dicom_mcp.demo.index import Entity, Index
from dicom_mcp.errors import NotLoopback
from testbeds.faults import stop_server
from testbeds.net import free_port, is_listening
from testbeds.poll import until
from tests.demo.conftest import SampleData
from tests.servers import stop_promptly

PATIENT_ROOT_MOVE = "1.2.840.10008.5.1.4.1.2.1.2"
STUDY_ROOT_MOVE = "1.2.840.10008.5.1.4.1.2.2.2"
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
PENDING = 0xFF00


@dataclass
class Narrow:
    """A storage SCP that takes CT images in Implicit VR Little Endian only; notes each one's syntax."""

    port: int = 0
    received: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> list[str]:
        with self.lock:
            taken, self.received[:] = list(self.received), []
        return taken


@pytest.fixture(scope="module")
def index(sample_data: SampleData) -> Index:
    return Index(sample_data())


@pytest.fixture(scope="module")
def archive(sample_data: SampleData) -> Iterator[SampleArchive]:
    running = start_sample_archive({str(ds.SOPClassUID) for ds in sample_data()})
    try:
        yield running
    finally:
        stop_promptly(running)


@pytest.fixture(scope="module")
def narrow() -> Iterator[Narrow]:
    scp = Narrow()

    def on_store(event: evt.Event) -> int:
        with scp.lock:
            scp.received.append(str(event.context.transfer_syntax))
        return 0x0000

    ae = AE(ae_title="NARROW")
    ae.add_supported_context(Verification)
    ae.add_supported_context(CT_IMAGE, ImplicitVRLittleEndian)
    server = ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)])
    scp.port = int(server.server_address[1])
    yield scp
    stop_server(server)


@pytest.fixture(scope="module")
def pacs(archive: SampleArchive, narrow: Narrow, sample_data: SampleData) -> Iterator[SamplePacs]:
    destinations = {
        archive.ae_title: (archive.host, archive.port),
        "NARROW": ("127.0.0.1", narrow.port),
        "GONE": ("localhost", free_port()),  # known, but nothing listens there
    }
    running = start_sample_pacs(sample_data(), move_destinations=destinations)
    try:
        yield running
    finally:
        stop_promptly(running)


def study(index: Index, accession: str) -> Entity:
    return next(s for s in index.entities("STUDY") if s.sample.AccessionNumber == accession)


def keys(level: str, **uids: str) -> Dataset:
    identifier = Dataset()
    identifier.QueryRetrieveLevel = level
    for keyword, value in uids.items():
        setattr(identifier, keyword, value)
    return identifier


@dataclass
class Responses:
    """The responses to one C-MOVE: the pending ones' statuses, the final status, and the UIDs it lists as failed."""

    pending: list[Dataset]
    final: Dataset
    failed_uids: list[str]


def c_move(
    pacs: SamplePacs, identifier: Dataset, destination: str, model: str = STUDY_ROOT_MOVE
) -> Responses:
    ae = AE(ae_title="MOVER")
    ae.add_requested_context(model)
    assoc = ae.associate(pacs.host, pacs.port, ae_title=pacs.ae_title)
    assert assoc.is_established
    try:
        responses = list(assoc.send_c_move(identifier, destination, model))
    finally:
        assoc.release()
    *pending, (final, failed) = responses
    listed = failed.get("FailedSOPInstanceUIDList", []) if failed is not None else []
    uids = [listed] if isinstance(listed, str) else [str(uid) for uid in listed]
    return Responses([status for status, _ in pending], final, uids)


def counts(response: Any) -> tuple[int, int, int]:
    return (
        response.NumberOfCompletedSuboperations,
        response.NumberOfFailedSuboperations,
        response.NumberOfWarningSuboperations,
    )


def test_a_study_moves_to_the_sample_archive_with_pending_counts_as_it_goes(
    pacs: SamplePacs, archive: SampleArchive, index: Index
) -> None:
    mr = study(index, "DEMO2001")
    before = archive.stored
    moved = c_move(pacs, keys("STUDY", StudyInstanceUID=mr.uid), ARCHIVE_AE_TITLE)
    pending, final = moved.pending, moved.final
    assert len(mr.children) == 2 and len(list(mr.instances())) == 20
    assert (final.Status, counts(final)) == (0x0000, (20, 0, 0))
    assert all(r.Status == PENDING for r in pending) and len(pending) == 20
    assert [r.NumberOfRemainingSuboperations for r in pending] == list(range(19, -1, -1))
    assert [counts(r) for r in pending] == [(n, 0, 0) for n in range(1, 21)]
    assert archive.stored - before == 20


@pytest.mark.parametrize(
    ("model", "level", "what"),
    [
        pytest.param(STUDY_ROOT_MOVE, "STUDY", "every study", id="study-root-studies"),
        pytest.param(STUDY_ROOT_MOVE, "SERIES", "every series", id="study-root-series"),
        pytest.param(PATIENT_ROOT_MOVE, "PATIENT", "every patient", id="patient-root-patients"),
        pytest.param(PATIENT_ROOT_MOVE, "STUDY", "every study, patient root", id="patient-root-studies"),
    ],
)
def test_each_entity_moves_exactly_its_instances(
    pacs: SamplePacs, archive: SampleArchive, index: Index, model: str, level: str, what: str
) -> None:
    unique = {"PATIENT": "PatientID", "STUDY": "StudyInstanceUID", "SERIES": "SeriesInstanceUID"}[level]
    moved = 0
    for entity in index.entities(level):
        before = archive.stored
        identifier = keys(level, **{unique: entity.uid})
        if model == PATIENT_ROOT_MOVE and level == "STUDY":
            identifier.PatientID = entity.sample.PatientID
        final = c_move(pacs, identifier, ARCHIVE_AE_TITLE, model).final
        expected = len(list(entity.instances()))
        assert (final.Status, counts(final), archive.stored - before) == (0, (expected, 0, 0), expected), what
        moved += expected
    assert moved == index.instance_count == 70


def test_one_instance_moves(pacs: SamplePacs, archive: SampleArchive, index: Index) -> None:
    instance = index.entities("IMAGE")[0]
    assert instance.parent is not None and instance.parent.parent is not None
    identifier = keys(
        "IMAGE",
        StudyInstanceUID=instance.parent.parent.uid,
        SeriesInstanceUID=instance.parent.uid,
        SOPInstanceUID=instance.uid,
    )
    before = archive.stored
    assert counts(c_move(pacs, identifier, ARCHIVE_AE_TITLE).final) == (1, 0, 0)
    assert archive.stored - before == 1


def test_an_unknown_destination_is_move_destination_unknown(pacs: SamplePacs, archive: SampleArchive) -> None:
    before = archive.stored
    moved = c_move(pacs, keys("STUDY", StudyInstanceUID=pacs.index.entities("STUDY")[0].uid), "NOWHERE")
    assert (moved.pending, moved.final.Status) == ([], 0xA801)
    assert archive.stored == before


def test_a_known_destination_that_does_not_answer_is_move_destination_unknown_too(pacs: SamplePacs) -> None:
    moved = c_move(pacs, keys("STUDY", StudyInstanceUID=pacs.index.entities("STUDY")[0].uid), "GONE")
    assert (moved.pending, moved.final.Status) == ([], 0xA801)


def test_a_compressed_instance_goes_uncompressed_to_a_destination_that_takes_only_that(
    pacs: SamplePacs, narrow: Narrow, index: Index
) -> None:
    ct = study(index, "DEMO1001").children[0]
    assert str(ct.sample.file_meta.TransferSyntaxUID.name) == "RLE Lossless"
    final = c_move(pacs, keys("SERIES", SeriesInstanceUID=ct.uid), "NARROW").final
    assert (final.Status, counts(final)) == (0x0000, (12, 0, 0))
    assert narrow.take() == [ImplicitVRLittleEndian] * 12


def test_what_the_destination_refuses_is_counted_failed_and_the_move_ends_in_a_warning(
    pacs: SamplePacs, narrow: Narrow, index: Index
) -> None:
    follow_up = study(index, "DEMO1002")  # 12 CT images, an SR and a PDF: NARROW takes only the CT
    moved = c_move(pacs, keys("STUDY", StudyInstanceUID=follow_up.uid), "NARROW")
    assert (moved.final.Status, counts(moved.final)) == (0xB000, (12, 2, 0))
    others = [i.uid for s in follow_up.children if s.sample.Modality != "CT" for i in s.children]
    assert sorted(moved.failed_uids) == sorted(others) and len(others) == 2
    assert len(narrow.take()) == 12


def test_a_move_of_nothing_the_destination_takes_fails(
    pacs: SamplePacs, narrow: Narrow, index: Index
) -> None:
    final = c_move(pacs, keys("STUDY", StudyInstanceUID=study(index, "DEMO2001").uid), "NARROW").final
    assert (final.Status, counts(final)) == (0xA702, (0, 20, 0))
    assert narrow.take() == []


def test_a_patient_level_move_in_the_study_root_model_is_refused(pacs: SamplePacs) -> None:
    final = c_move(pacs, keys("PATIENT", PatientID="DEMO-001"), ARCHIVE_AE_TITLE).final
    assert final.Status == 0xA900


def test_a_move_that_matches_nothing_succeeds_with_nothing_sent(
    pacs: SamplePacs, archive: SampleArchive
) -> None:
    before = archive.stored
    moved = c_move(pacs, keys("STUDY", StudyInstanceUID="1.2.3.4"), ARCHIVE_AE_TITLE)
    assert moved.pending == []
    assert (moved.final.Status, counts(moved.final), archive.stored) == (0x0000, (0, 0, 0), before)


@pytest.mark.parametrize("host", ["192.0.2.10", "0.0.0.0", "", "::"])
def test_a_move_destination_other_than_loopback_is_refused_before_anything_listens(
    host: str, sample_data: SampleData
) -> None:
    port = free_port()
    with pytest.raises(NotLoopback, match=r"moves to loopback destinations only, not to FAR .* never a PACS"):
        start_sample_pacs(sample_data(1), port=port, move_destinations={"FAR": (host, 104)})
    assert not is_listening(port)


@pytest.mark.parametrize(("ae_title", "port"), [("", 104), ("A" * 17, 104), ("BACK\\SLASH", 104), ("OK", 0)])
def test_a_move_destination_no_association_could_use_is_refused(ae_title: str, port: int) -> None:
    with pytest.raises(ValueError, match=r"AE title|out of range"):
        start_sample_pacs([], move_destinations={ae_title: ("127.0.0.1", port)})


def test_the_archive_logs_counts_per_association_and_nothing_else(
    pacs: SamplePacs, archive: SampleArchive, index: Index, caplog: pytest.LogCaptureFixture
) -> None:
    xray = study(index, "DEMO3001")
    with caplog.at_level(logging.INFO, logger="dicom_mcp.demo.archive"):
        c_move(pacs, keys("STUDY", StudyInstanceUID=xray.uid), ARCHIVE_AE_TITLE)
        until(lambda: "stored 2 instances" in caplog.text, what="the archive's log line")
    (line,) = [r.getMessage() for r in caplog.records if "stored 2 instances" in r.getMessage()]
    assert line == (
        f"sample archive SAMPLE-ARCHIVE: SAMPLE-PACS stored 2 instances and closed; {archive.stored} since "
        "start, none kept"
    )
    assert xray.uid not in caplog.text and xray.sample.PatientID not in caplog.text


def test_the_archive_refuses_to_listen_beyond_loopback() -> None:
    with pytest.raises(NotLoopback):
        start_sample_archive([CT_IMAGE], host="0.0.0.0")
