"""Prove the PACS test beds serve the catalogued data, and pin down the server quirks clients must handle."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.pixels import apply_modality_lut
from pynetdicom import AE
from pynetdicom.association import Association
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from testbeds.pacs.common import (
    PATIENT_ROOT_FIND,
    STUDY_ROOT_FIND,
    PacsStartupError,
    RunningPacs,
    c_find,
    require_binary,
)
from testbeds.pacs.dataset import (
    CT_SLICES,
    JAPANESE_NAME,
    LARGE_SERIES_SIZE,
    PDF_REPORT,
    STRUCTURED_REPORT,
    Catalog,
    make_catalog,
)
from testbeds.pacs.orthanc import orthanc_get, run_orthanc
from testbeds.poll import until

pytestmark = pytest.mark.pacs

SERVERS = ["orthanc", "dcmqrscp"]
UNABLE_TO_PROCESS = 0xC000


@pytest.fixture(params=SERVERS)
def pacs(request: pytest.FixtureRequest) -> RunningPacs:
    """Each test using `pacs` runs once per server."""
    bed: RunningPacs = request.getfixturevalue(request.param)
    return bed


def _query(level: str, **keys: object) -> Dataset:
    """Build a C-FIND identifier; keys are set in the given order (SpecificCharacterSet first if given)."""
    ds = Dataset()
    if "SpecificCharacterSet" in keys:
        ds.SpecificCharacterSet = keys.pop("SpecificCharacterSet")
    ds.QueryRetrieveLevel = level
    for keyword, value in keys.items():
        setattr(ds, keyword, value)
    return ds


def _find(bed: RunningPacs, identifier: Dataset, model: str = STUDY_ROOT_FIND) -> tuple[int, list[Dataset]]:
    return c_find(bed.port, bed.ae_title, identifier, model)


def test_catalog_is_deterministic_and_consistent(pacs_catalog: Catalog) -> None:
    assert make_catalog(pacs_catalog.directory) == pacs_catalog
    assert len(pacs_catalog.patients) >= 6
    assert {s.date[:4] for s in pacs_catalog.studies} == {str(y) for y in range(2018, 2026)}
    modalities = {m for s in pacs_catalog.studies for m in s.modalities}
    assert modalities == {"CT", "MR", "US", "CR", "PT", "DX", "SR", "DOC"}
    assert len({s.accession_number for s in pacs_catalog.studies}) == len(pacs_catalog.studies)
    assert pacs_catalog.large_series.instance_count == LARGE_SERIES_SIZE >= 1000
    assert all(p.exists() for p in pacs_catalog.files()[:: LARGE_SERIES_SIZE // 10])


def test_one_study_holds_a_report_a_pdf_and_ct_slices_with_pixels(pacs_catalog: Catalog) -> None:
    assert pacs_catalog.directory is not None
    directory = pacs_catalog.directory

    def read(content: str) -> list[Dataset]:
        (series,) = pacs_catalog.series_with_content(content)
        return [dcmread(directory / i.filename) for i in pacs_catalog.instances_for_series(series.series_uid)]

    assert pacs_catalog.report_study.modalities == ("CT", "DOC", "SR")
    assert [s.modality for s in pacs_catalog.series if s.content] == ["CT", "SR", "DOC"]
    first, second, _ = read(CT_SLICES)
    hu = [apply_modality_lut(ds.pixel_array, ds) for ds in (first, second)]
    assert hu[0].shape == (512, 512)
    assert hu[0][256, 256] == hu[1][256, 256] == 40  # soft tissue in the middle
    assert (hu[0][200, 180], hu[1][200, 180]) == (-850, 30)  # lung; the nodule on the second slice only
    (report,) = read(STRUCTURED_REPORT)
    flags = (report.CompletionFlag, report.VerificationFlag, report.SpecificCharacterSet)
    assert flags == ("COMPLETE", "VERIFIED", "ISO_IR 192")
    (document,) = read(PDF_REPORT)
    assert document.EncapsulatedDocument.startswith(b"%PDF-1.4")


def test_study_query_by_patient_id(pacs: RunningPacs, pacs_catalog: Catalog) -> None:
    for patient in pacs_catalog.patients:
        status, matches = _find(pacs, _query("STUDY", PatientID=patient.patient_id, StudyInstanceUID=""))
        assert status == 0x0000
        expected = {s.study_uid for s in pacs_catalog.studies_for_patient(patient.patient_id)}
        assert {m.StudyInstanceUID for m in matches} == expected, patient.patient_id


def test_large_series_complete_in_one_find(pacs: RunningPacs, pacs_catalog: Catalog) -> None:
    large = pacs_catalog.large_series
    identifier = _query(
        "IMAGE",
        StudyInstanceUID=large.study_uid,
        SeriesInstanceUID=large.series_uid,
        SOPInstanceUID="",
        InstanceNumber="",
    )
    status, matches = _find(pacs, identifier)
    assert status == 0x0000
    assert len(matches) == large.instance_count >= 1000
    expected = {i.sop_uid for i in pacs_catalog.instances_for_series(large.series_uid)}
    assert {m.SOPInstanceUID for m in matches} == expected


def test_latin1_wildcard_patient_query(pacs: RunningPacs) -> None:
    """Both servers match 'Müller*' sent in ISO_IR 100 and answer with a decodable name."""
    identifier = _query("PATIENT", SpecificCharacterSet="ISO_IR 100", PatientName="Müller*", PatientID="")
    status, matches = _find(pacs, identifier, PATIENT_ROOT_FIND)
    assert status == 0x0000
    assert [(m.PatientID, str(m.PatientName)) for m in matches] == [("PAT004", "Müller^Jürgen")]


@pytest.mark.parametrize(("server", "expected"), [("orthanc", ["PAT004"]), ("dcmqrscp", [])])
def test_pn_case_sensitivity_differs(
    request: pytest.FixtureRequest, server: str, expected: list[str]
) -> None:
    """Orthanc (CaseSensitivePN=false) matches PN case-insensitively; dcmqrscp is case-sensitive as DICOM says."""
    bed: RunningPacs = request.getfixturevalue(server)
    identifier = _query("PATIENT", SpecificCharacterSet="ISO_IR 100", PatientName="MÜLLER*", PatientID="")
    status, matches = _find(bed, identifier, PATIENT_ROOT_FIND)
    assert status == 0x0000
    assert [m.PatientID for m in matches] == expected


@pytest.mark.parametrize(
    ("server", "charset"), [("orthanc", "ISO_IR 192"), ("dcmqrscp", ["", "ISO 2022 IR 87"])]
)
def test_japanese_name_round_trips(request: pytest.FixtureRequest, server: str, charset: object) -> None:
    """Orthanc re-encodes answers to its DefaultEncoding (UTF-8 here); dcmqrscp returns the stored ISO 2022 bytes."""
    bed: RunningPacs = request.getfixturevalue(server)
    status, matches = _find(bed, _query("PATIENT", PatientID="PAT005", PatientName=""), PATIENT_ROOT_FIND)
    assert status == 0x0000
    assert [str(m.PatientName) for m in matches] == [JAPANESE_NAME]
    assert matches[0].SpecificCharacterSet == charset


def test_dcmqrscp_image_query_needs_uid_keys_present(dcmqrscp: RunningPacs, pacs_catalog: Catalog) -> None:
    """Absent StudyInstanceUID/SeriesInstanceUID -> 0xC000; present but empty (universal) is accepted."""
    large = pacs_catalog.large_series
    without_study = _query("IMAGE", SeriesInstanceUID=large.series_uid, SOPInstanceUID="")
    without_series = _query("IMAGE", StudyInstanceUID=large.study_uid, SOPInstanceUID="")
    assert _find(dcmqrscp, without_study) == (UNABLE_TO_PROCESS, [])
    assert _find(dcmqrscp, without_series) == (UNABLE_TO_PROCESS, [])
    universal = _query("IMAGE", StudyInstanceUID=large.study_uid, SeriesInstanceUID="", SOPInstanceUID="")
    status, matches = _find(dcmqrscp, universal)
    assert status == 0x0000
    assert len(matches) == pacs_catalog.study_instance_count(large.study_uid)


def test_orthanc_image_query_without_uid_keys(orthanc: RunningPacs, pacs_catalog: Catalog) -> None:
    large = pacs_catalog.large_series
    status, matches = _find(orthanc, _query("IMAGE", SeriesInstanceUID=large.series_uid, SOPInstanceUID=""))
    assert status == 0x0000
    assert len(matches) == large.instance_count


@pytest.mark.parametrize(("server", "expect_all"), [("orthanc", False), ("dcmqrscp", True)])
def test_modalities_in_study_matching(
    request: pytest.FixtureRequest, pacs_catalog: Catalog, server: str, expect_all: bool
) -> None:
    """dcmqrscp does not support ModalitiesInStudy: it ignores it as a filter and never returns it."""
    bed: RunningPacs = request.getfixturevalue(server)
    status, matches = _find(bed, _query("STUDY", ModalitiesInStudy="DX", StudyInstanceUID=""))
    assert status == 0x0000
    expected = pacs_catalog.studies if expect_all else pacs_catalog.studies_with_modality("DX")
    assert {m.StudyInstanceUID for m in matches} == {s.study_uid for s in expected}
    assert all(("ModalitiesInStudy" in m) != expect_all for m in matches)


def test_open_associations_are_counted(pacs: RunningPacs) -> None:
    ae = AE(ae_title="COUNTER")
    ae.add_requested_context(Verification)
    until(lambda: pacs.open_associations() == 0, what="no association open")
    assoc = ae.associate(pacs.host, pacs.port, ae_title=pacs.ae_title)
    try:
        assert assoc.is_established
        assert pacs.open_associations() == 1
    finally:
        assoc.release()
    until(lambda: pacs.open_associations() == 0, what="the association closed")


def test_orthanc_rest_config_took_effect(orthanc: RunningPacs, pacs_catalog: Catalog) -> None:
    system = orthanc_get(orthanc, "/system")
    assert system["DicomAet"] == "ORTHANC" and system["DicomPort"] == orthanc.port
    assert orthanc_get(orthanc, "/statistics")["CountInstances"] == pacs_catalog.instance_count


def test_startup_failure_is_loud_and_shows_the_log(tmp_path: Path, pacs_catalog: Catalog) -> None:
    assert pacs_catalog.directory is not None
    with (
        pytest.raises(PacsStartupError, match="Parameter out of range"),
        run_orthanc(tmp_path, pacs_catalog.directory, default_encoding="NoSuchEncoding"),
    ):
        pass  # pragma: no cover - never reached


def test_missing_binary_fails_instead_of_skipping() -> None:
    with pytest.raises(PacsStartupError, match="not found"):
        require_binary("/nonexistent/Orthanc")


def _hold_associations(bed: RunningPacs, attempts: int) -> tuple[list[Association], int]:
    """Open up to `attempts` concurrent C-ECHO associations; return the established ones and the refusals.

    Beyond its limit dcmqrscp usually rejects (transient), but under load it may instead drop the
    connection: both count as refused.
    """
    ae = AE(ae_title="HOLDER")
    ae.add_requested_context(Verification)
    held: list[Association] = []
    rejected = 0
    for _ in range(attempts):
        assoc = ae.associate(bed.host, bed.port, ae_title=bed.ae_title)
        if assoc.is_established:
            held.append(assoc)
        rejected += int(not assoc.is_established)
    return held, rejected


def _release_all(held: list[Association]) -> None:
    for assoc in held:
        assoc.release()


def test_dcmqrscp_rejects_associations_beyond_max(dcmqrscp: RunningPacs) -> None:
    """MaxAssociations=16; the +1 is rejected (transient). Lazily reaped children may cost one slot."""
    assert dcmqrscp.max_associations is not None
    held, rejected = _hold_associations(dcmqrscp, dcmqrscp.max_associations + 2)
    try:
        assert dcmqrscp.max_associations - 1 <= len(held) <= dcmqrscp.max_associations
        assert rejected == dcmqrscp.max_associations + 2 - len(held)
    finally:
        _release_all(held)


def test_orthanc_has_no_association_limit(orthanc: RunningPacs) -> None:
    """Orthanc accepts more associations than DicomThreadsCount (4); extra idle ones only add latency."""
    held, rejected = _hold_associations(orthanc, 8)
    try:
        assert (len(held), rejected) == (8, 0)
        assert orthanc.open_associations() == 8
    finally:
        _release_all(held)
