"""Resources and prompts, as a client that shows them meets them."""

from __future__ import annotations

import json

import pytest

from testbeds.pacs import RunningPacs
from tests.tools.conftest import ClientFactory

pytestmark = pytest.mark.anyio


async def test_presets_and_nodes_are_resources_with_hosts_hidden(
    orthanc: RunningPacs, tools_client: ClientFactory
) -> None:
    async with tools_client(orthanc) as client:
        listed = {str(r.uri) for r in (await client.list_resources()).resources}
        presets = json.loads((await client.read_resource("dicom://presets")).contents[0].text)  # type: ignore[union-attr]
        nodes = json.loads((await client.read_resource("dicom://nodes")).contents[0].text)  # type: ignore[union-attr]
    assert {"dicom://presets", "dicom://nodes"} <= listed
    assert presets["presets"]["patient"]["minimal"] == ["PatientID", "PatientName"]
    assert nodes["nodes"] == [
        {
            "name": "default",
            "description": "The default PACS",
            "ae_title": orthanc.ae_title,
            "host": None,
            "port": None,
            "move_destination": False,
            "protocol": "dimse",
        }
    ]


async def test_prompts_lead_through_the_tools(orthanc: RunningPacs, tools_client: ClientFactory) -> None:
    async with tools_client(orthanc) as client:
        names = {p.name for p in (await client.list_prompts()).prompts}
        history = await client.get_prompt("imaging_history", {"patient": "SMITH^JOHN"})
        latest = await client.get_prompt("latest_report", {"study_instance_uid": "1.2.3"})
    assert names == {"imaging_history", "latest_report"}
    history_text = history.messages[0].content.text  # type: ignore[union-attr]
    assert (
        "query_patients" in history_text and "query_studies" in history_text and "read_report" in history_text
    )
    assert "read_report(study_instance_uid=...)" in latest.messages[0].content.text  # type: ignore[union-attr]
