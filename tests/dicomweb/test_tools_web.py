"""Every other tool on a DICOMweb node: the same answers as over DIMSE from the same Orthanc.

One service has both: its default node is Orthanc over DIMSE, `web` the same Orthanc over
DICOMweb. Each call goes to both (a session handle each) and the results must be equal: headers
and reports read from instances fetched with WADO-RS instead of C-GET, PNGs byte for byte, error
texts once the node's own name is put aside.
"""

from __future__ import annotations

import logging

import pytest

from testbeds.clients import call_error, call_ok
from testbeds.pacs import Catalog, Series
from tests.dicomweb.conftest import Both

pytestmark = pytest.mark.anyio
UNKNOWN_UID = "1.2.826.0.1.3680043.8.498.4242.999.1"


def one_series_per_kind(catalog: Catalog) -> list[Series]:
    """The first series of each modality and SOP class (the CT slices with pixels, SR, PDF, ...)."""
    kinds: dict[tuple[str, str], Series] = {}
    for series in catalog.series:
        kinds.setdefault((series.modality, series.sop_class_uid), series)
    return list(kinds.values())


async def test_instance_headers_are_the_same_over_wado_rs(both: Both, pacs_catalog: Catalog) -> None:
    checked = 0
    for series in one_series_per_kind(pacs_catalog):
        instance = pacs_catalog.instances_for_series(series.series_uid)[0]
        outcome = await both.same("get_instance_metadata", sop_instance_uid=instance.sop_uid)
        assert outcome["structured"]["sop_instance_uid"] == instance.sop_uid
        checked += 1
    assert checked >= 5


async def test_images_render_to_the_same_png(both: Both, pacs_catalog: Catalog) -> None:
    rendered = 0
    for series in pacs_catalog.series:
        instance = pacs_catalog.instances_for_series(series.series_uid)[-1]
        outcome = await both.same("render_image", sop_instance_uid=instance.sop_uid, max_size=128)
        rendered += bool(outcome["images"])
    with_pixels = [s for s in pacs_catalog.series if getattr(s, "content", "") == "ct-slices"]
    assert rendered >= len(with_pixels)


async def test_every_study_has_the_same_reports(both: Both, pacs_catalog: Catalog) -> None:
    reports = 0
    for study in pacs_catalog.studies:
        outcome = await both.same("read_report", study_instance_uid=study.study_uid)
        reports += len(outcome["structured"]["reports"])
    documents = [s for s in pacs_catalog.series if s.modality in ("SR", "DOC")]
    assert reports >= len(documents)


async def test_unknown_uids_are_not_found_on_both(both: Both) -> None:
    outcome = await both.same("get_instance_metadata", sop_instance_uid=UNKNOWN_UID)
    assert outcome["error"].startswith("not found: <node> has no instance")
    outcome = await both.same("read_report", study_instance_uid=UNKNOWN_UID)
    assert outcome["error"].startswith("not found: <node> has no study")


async def test_verify_connection_runs_a_qido_search(both: Both) -> None:
    result = await call_ok(both.client, "verify_connection", session=both.sessions["dicomweb"])
    assert result["success"] is True
    assert result["round_trip_ms"] > 0
    assert result["message"] == "node 'web' (DICOMweb) answered a QIDO-RS search"
    assert (result["host"], result["port"], result["ae_title"]) == (None, None, "")


async def test_moves_are_refused_on_a_dicomweb_node(both: Both, pacs_catalog: Catalog) -> None:
    study = pacs_catalog.studies[0]
    series = pacs_catalog.series_for_study(study.study_uid)[0]
    for tool, arguments in (
        ("move_study", {"study_instance_uid": study.study_uid}),
        ("move_series", {"series_instance_uid": series.series_uid}),
    ):
        error = await call_error(
            both.client, tool, destination="workstation", session=both.sessions["dicomweb"], **arguments
        )
        assert error.startswith("move refused: node 'web' (DICOMweb) speaks DICOMweb, which has no move")


async def test_nodes_list_says_which_protocol_each_speaks(both: Both) -> None:
    listed = await call_ok(both.client, "list_dicom_nodes")
    protocols = {node["name"]: node["protocol"] for node in listed["nodes"]}
    assert protocols == {
        "default": "dimse",
        "web": "dicomweb",
        "web-strict": "dicomweb",
        "web-local": "dicomweb",
        "workstation": "dimse",
    }


async def test_qido_urls_reach_no_log(both: Both, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    await call_ok(both.client, "query_patients", name_pattern="ZZYZX^Q*", session=both.sessions["dicomweb"])
    assert not [r for r in caplog.records if "ZZYZX" in r.getMessage() or "dicom-web" in r.getMessage()]
    assert not logging.getLogger("httpx").isEnabledFor(logging.CRITICAL)
