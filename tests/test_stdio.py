"""The desktop use: `dicom-mcp --transport stdio`, driven by the SDK client, answers the README's examples."""

from __future__ import annotations

import pytest

from testbeds.clients import call_ok, stdio_client
from testbeds.pacs import Catalog, RunningPacs
from testbeds.service import service_env

pytestmark = pytest.mark.anyio


def ids(result: dict[str, object], keyword: str) -> set[object]:
    return {match[keyword] for match in result["matches"]}  # type: ignore[attr-defined]


async def test_stdio_server_answers_the_example_queries_then_follows_configure(
    orthanc: RunningPacs, dcmqrscp: RunningPacs, pacs_catalog: Catalog
) -> None:
    env = service_env(
        {
            "DICOM_HOST": orthanc.host,
            "DICOM_PORT": str(orthanc.port),
            "DICOM_CALLED_AE_TITLE": orthanc.ae_title,
        },
        allowed_targets=f"127.0.0.1:{dcmqrscp.port}",
    )
    study = pacs_catalog.study_by_accession("ACC1002")
    async with stdio_client(env) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert names >= {"configure_dicom_server", "verify_connection", "query_patients", "query_studies"}
        assert names >= {"query_series", "query_instances", "get_attribute_presets", "list_dicom_nodes"}
        assert (await call_ok(client, "verify_connection"))["success"] is True
        assert ids(await call_ok(client, "query_patients", name_pattern="SMITH*"), "PatientID") == {
            "PAT001",
            "PAT002",
        }
        extended = await call_ok(client, "query_patients", patient_id="PAT001", attribute_preset="extended")
        assert extended["matches"][0]["NumberOfPatientRelatedStudies"] == 3
        assert ids(
            await call_ok(client, "query_studies", study_date="20230101-20231231"), "AccessionNumber"
        ) == {"ACC1003"}
        assert "ACC1002" in ids(
            await call_ok(client, "query_studies", modality_in_study="MR"), "AccessionNumber"
        )
        series = await call_ok(client, "query_series", study_instance_uid=study.study_uid, modality="MR")
        assert series["count"] == 2
        t2 = next(m for m in series["matches"] if m["SeriesDescription"] == "T2 AX")  # type: ignore[attr-defined]
        numbered = await call_ok(
            client, "query_instances", series_instance_uid=t2["SeriesInstanceUID"], instance_number="1"
        )
        assert numbered["count"] == 1

        # On stdio the configuration binds to the process's one client: no handle needed.
        await call_ok(
            client, "configure_dicom_server", host="127.0.0.1", port=dcmqrscp.port, ae_title="DCMQRSCP"
        )
        echo = await call_ok(client, "verify_connection")
        assert (echo["port"], echo["ae_title"]) == (dcmqrscp.port, "DCMQRSCP")
        large = await call_ok(
            client, "query_instances", series_instance_uid=pacs_catalog.large_series.series_uid
        )
        assert (large["count"], large["truncated"]) == (100, True)
