"""configure_dicom_server, verify_connection and get_attribute_presets, against real PACS."""

from __future__ import annotations

import socket
import time

import pytest

from testbeds.clients import call_error, call_ok
from testbeds.pacs import Catalog, RunningPacs
from tests.tools.conftest import ClientFactory

pytestmark = pytest.mark.anyio


async def test_verify_connection_echoes_the_default_pacs(
    pacs: RunningPacs, tools_client: ClientFactory
) -> None:
    async with tools_client(pacs) as client:
        started = time.monotonic()
        result = await call_ok(client, "verify_connection")
        waited_ms = (time.monotonic() - started) * 1000
    assert result["success"] is True
    # The default PACS is a named node: its address stays hidden unless the operator exposes it.
    assert (result["host"], result["port"], result["ae_title"]) == (None, None, pacs.ae_title)
    assert 0 < result["round_trip_ms"] <= waited_ms  # type: ignore[operator]


async def test_exposed_node_hosts_show_the_default_pacs_address(
    orthanc: RunningPacs, tools_client: ClientFactory
) -> None:
    async with tools_client(orthanc, expose_node_hosts=True) as client:
        result = await call_ok(client, "verify_connection")
    assert (result["host"], result["port"]) == (orthanc.host, orthanc.port)


async def test_verify_connection_reports_a_wrong_called_ae_title(
    dcmqrscp: RunningPacs, tools_client: ClientFactory
) -> None:
    async with tools_client(dcmqrscp, dicom_called_ae_title="NOT-THE-PACS") as client:
        result = await call_ok(client, "verify_connection")
    assert result["success"] is False
    assert "rejected the association" in result["message"]


async def test_configure_returns_a_handle_that_routes_later_calls(
    orthanc: RunningPacs, dcmqrscp: RunningPacs, pacs_catalog: Catalog, tools_client: ClientFactory
) -> None:
    async with tools_client(orthanc, allowed_targets=(f"127.0.0.1:{dcmqrscp.port}",)) as client:
        configured = await call_ok(
            client, "configure_dicom_server", host="127.0.0.1", port=dcmqrscp.port, ae_title=dcmqrscp.ae_title
        )
        handle = configured["session"]
        echo = await call_ok(client, "verify_connection", session=handle)
        large = pacs_catalog.large_series
        instances = await call_ok(
            client, "query_instances", series_instance_uid=large.series_uid, session=handle, limit=10
        )
    assert len(handle) >= 32
    assert (echo["success"], echo["port"], echo["ae_title"]) == (True, dcmqrscp.port, "DCMQRSCP")
    assert (instances["count"], instances["truncated"]) == (10, True)


async def test_target_outside_the_allowlist_is_refused_before_any_socket_opens(
    orthanc: RunningPacs, tools_client: ClientFactory
) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        port = listener.getsockname()[1]
        async with tools_client(orthanc) as client:
            message = await call_error(
                client, "configure_dicom_server", host="127.0.0.1", port=port, ae_title="X"
            )
        with pytest.raises(BlockingIOError):
            listener.accept()
    assert "not an allowed DICOM target" in message


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"host": "127.0.0.1", "port": 70000}, "port must be an integer from 1 to 65535"),
        ({"host": "127.0.0.1", "port": 0}, "port must be an integer from 1 to 65535"),
        ({"host": "127.0.0.1", "port": 104, "ae_title": "A" * 17}, "ae_title must be 1 to 16 characters"),
        ({"host": "127.0.0.1", "port": 104, "ae_title": "   "}, "ae_title must be 1 to 16 characters"),
        ({"host": "bad host!", "port": 104}, "host must be a host name or an IP address"),
    ],
)
async def test_bad_targets_are_refused(
    orthanc: RunningPacs, tools_client: ClientFactory, arguments: dict[str, object], message: str
) -> None:
    async with tools_client(orthanc, allowed_targets=("0.0.0.0/0",)) as client:
        assert message in await call_error(client, "configure_dicom_server", **arguments)


async def test_presets_are_listed_per_level(orthanc: RunningPacs, tools_client: ClientFactory) -> None:
    async with tools_client(orthanc) as client:
        result = await call_ok(client, "get_attribute_presets")
    # Written out here, not imported: the tool's answer is checked against the documented presets.
    assert result["default"] == "standard"
    assert result["presets"] == {
        "patient": {
            "minimal": ["PatientID", "PatientName"],
            "standard": ["PatientID", "PatientName", "PatientBirthDate", "PatientSex"],
            "extended": [
                "PatientID",
                "PatientName",
                "PatientBirthDate",
                "PatientSex",
                "OtherPatientIDs",
                "NumberOfPatientRelatedStudies",
                "NumberOfPatientRelatedSeries",
                "NumberOfPatientRelatedInstances",
            ],
        },
        "study": {
            "minimal": ["StudyInstanceUID", "StudyDate", "StudyDescription", "PatientID"],
            "standard": [
                "StudyInstanceUID",
                "StudyDate",
                "StudyDescription",
                "PatientID",
                "PatientName",
                "StudyTime",
                "AccessionNumber",
                "ModalitiesInStudy",
                "StudyID",
            ],
            "extended": [
                "StudyInstanceUID",
                "StudyDate",
                "StudyDescription",
                "PatientID",
                "PatientName",
                "StudyTime",
                "AccessionNumber",
                "ModalitiesInStudy",
                "StudyID",
                "PatientBirthDate",
                "PatientSex",
                "ReferringPhysicianName",
                "NumberOfStudyRelatedSeries",
                "NumberOfStudyRelatedInstances",
            ],
        },
        "series": {
            "minimal": ["SeriesInstanceUID", "Modality", "SeriesNumber"],
            "standard": [
                "SeriesInstanceUID",
                "Modality",
                "SeriesNumber",
                "SeriesDescription",
                "StudyInstanceUID",
                "SeriesDate",
                "BodyPartExamined",
            ],
            "extended": [
                "SeriesInstanceUID",
                "Modality",
                "SeriesNumber",
                "SeriesDescription",
                "StudyInstanceUID",
                "SeriesDate",
                "BodyPartExamined",
                "SeriesTime",
                "ProtocolName",
                "NumberOfSeriesRelatedInstances",
            ],
        },
        "instance": {
            "minimal": ["SOPInstanceUID", "InstanceNumber"],
            "standard": [
                "SOPInstanceUID",
                "InstanceNumber",
                "SOPClassUID",
                "SeriesInstanceUID",
                "ContentDate",
            ],
            "extended": [
                "SOPInstanceUID",
                "InstanceNumber",
                "SOPClassUID",
                "SeriesInstanceUID",
                "ContentDate",
                "ContentTime",
                "Rows",
                "Columns",
                "ImageType",
                "AcquisitionNumber",
            ],
        },
    }
