"""The tool contract as a model meets it, through the SDK's client over real HTTP.

Unknown or misspelled arguments are refused on every tool with a message that names them and
lists what the tool accepts; every validation error reads "invalid input: <parameter> <rule>";
named nodes' addresses appear in no result or error; start-up says what the process will do.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testbeds.clients import call_error, call_ok, mcp_client
from testbeds.faults import closed_port
from testbeds.net import free_port
from testbeds.pacs import RunningPacs
from testbeds.service import RunningService, run_service, service_env

pytestmark = pytest.mark.anyio

EVERY_TOOL = {
    "configure_dicom_server",
    "verify_connection",
    "query_patients",
    "query_studies",
    "query_series",
    "query_instances",
    "get_attribute_presets",
    "list_dicom_nodes",
    "get_instance_metadata",
    "read_report",
    "render_image",
    "move_study",
    "move_series",
    "open_study_viewer",
    "viewer_thumbnails",
    "viewer_frames",
}


@pytest.fixture(scope="module")
def service(
    orthanc: RunningPacs, dcmqrscp: RunningPacs, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningService]:
    workdir = tmp_path_factory.mktemp("contract")
    nodes = workdir / "nodes.toml"
    nodes.write_text(
        f'[nodes.strict]\nhost = "127.0.0.1"\nport = {dcmqrscp.port}\nae_title = "{dcmqrscp.ae_title}"\n'
        f'[nodes.down]\nhost = "127.0.0.1"\nport = {closed_port()}\nae_title = "GONE"\n'
    )
    env = service_env(
        {
            "DICOM_HOST": orthanc.host,
            "DICOM_PORT": str(orthanc.port),
            "DICOM_CALLED_AE_TITLE": orthanc.ae_title,
        },
        nodes_file=str(nodes),
        expose_node_hosts="false",
    )
    with run_service(workdir, env) as running:
        yield running


async def test_every_schema_is_closed_to_other_arguments(service: RunningService) -> None:
    async with mcp_client(service.mcp_url, "modern") as client:
        tools = (await client.list_tools()).tools
    assert {tool.name for tool in tools} == EVERY_TOOL
    for tool in tools:
        assert tool.input_schema["additionalProperties"] is False, tool.name
        assert "\n    " not in (tool.description or ""), f"{tool.name}: leftover indentation"


@pytest.mark.parametrize("mode", ["modern", "legacy"])
async def test_an_unknown_argument_is_refused_on_every_tool(service: RunningService, mode: str) -> None:
    async with mcp_client(service.mcp_url, mode) as client:
        tools = (await client.list_tools()).tools
        for tool in tools:
            message = await call_error(client, tool.name, made_up_argument="x")
            accepted = ", ".join(tool.input_schema["properties"]) or "no arguments"
            assert message == (
                f"invalid input: {tool.name} has no argument 'made_up_argument'; it accepts: {accepted}"
            )


@pytest.mark.parametrize(
    ("tool", "arguments", "expected"),
    [
        (
            "query_studies",
            {"patient_name": "MÜLLER*"},
            "query_studies has no argument 'patient_name' (query_studies has no name filter: find the "
            "patient with query_patients(name_pattern=...) first, then pass its patient_id)",
        ),
        (
            "query_studies",
            {"PatientID": "P003"},
            "query_studies has no argument 'PatientID' (did you mean patient_id?)",
        ),
        (
            "query_patients",
            {"patient_name": "SMITH*"},
            "(use name_pattern (DICOM names are written FAMILY^GIVEN",
        ),
        (
            "query_series",
            {"study_uid": "1.2.3", "study_instance_uid": "1.2.3"},
            "(did you mean study_instance_uid?)",
        ),
        (
            "query_instances",
            {"series_uid": "1.2", "series_instance_uid": "1.2"},
            "did you mean series_instance_uid?",
        ),
        ("verify_connection", {"sesion": "x"}, "(did you mean session?)"),
        ("configure_dicom_server", {"hostname": "pacs", "port": 104}, "(did you mean host?)"),
    ],
)
async def test_a_guessed_argument_gets_a_hint(
    service: RunningService, tool: str, arguments: dict[str, Any], expected: str
) -> None:
    async with mcp_client(service.mcp_url, "modern") as client:
        message = await call_error(client, tool, **arguments)
    assert message.startswith("invalid input: ")
    assert expected in message


@pytest.mark.parametrize(
    ("tool", "arguments", "expected"),
    [
        ("query_patients", {"limit": 0}, "limit must be an integer between 1 and 1000"),
        ("query_patients", {"limit": 1001}, "limit must be an integer between 1 and 1000"),
        ("query_patients", {"limit": "5"}, "limit must be an integer between 1 and 1000"),
        ("query_series", {}, "study_instance_uid is required"),
        ("query_instances", {}, "series_instance_uid is required"),
        ("query_patients", {"patient_id": 4711}, "patient_id must be a string of at most 256 characters"),
        (
            "query_patients",
            {"additional_attributes": "PatientSex"},
            "additional_attributes must be a list of at most 64 strings",
        ),
        ("configure_dicom_server", {"host": "pacs", "port": "104"}, "port must be an integer"),
        (
            "query_patients",
            {"additional_attributes": ["StudyDate"]},
            "additional_attributes: 'StudyDate' is an attribute of the study level, so a patient-level query "
            "cannot return it; use query_studies for it",
        ),
    ],
)
async def test_validation_errors_are_in_the_services_words(
    service: RunningService, tool: str, arguments: dict[str, Any], expected: str
) -> None:
    async with mcp_client(service.mcp_url, "modern") as client:
        message = await call_error(client, tool, **arguments)
    assert message == f"invalid input: {expected}"


def shown(result: Any) -> str:
    """Everything a model sees of a result: its text blocks and its structured content."""
    texts = " ".join(getattr(block, "text", "") for block in result.content)
    return texts + json.dumps(result.structured_content or {})


async def test_named_nodes_addresses_appear_in_no_result_or_error(
    service: RunningService, orthanc: RunningPacs, dcmqrscp: RunningPacs
) -> None:
    async with mcp_client(service.mcp_url, "modern") as client:
        strict = (await client.call_tool("configure_dicom_server", {"node": "strict"})).structured_content
        down = (await client.call_tool("configure_dicom_server", {"node": "down"})).structured_content
        assert strict is not None and down is not None
        results = [
            await client.call_tool("verify_connection", {}),
            await client.call_tool("verify_connection", {"session": strict["session"]}),
            await client.call_tool("verify_connection", {"session": down["session"]}),
            await client.call_tool("query_patients", {"patient_id": "PAT002"}),
            await client.call_tool("query_patients", {"patient_id": "PAT002", "session": strict["session"]}),
            await client.call_tool("query_patients", {"session": down["session"]}),
            await client.call_tool("list_dicom_nodes", {}),
            await client.call_tool("configure_dicom_server", {"node": "strict", "host": "127.0.0.1"}),
        ]
    assert (strict["host"], strict["port"]) == (None, None)
    for result in [*results]:
        text = shown(result)
        for port in (orthanc.port, dcmqrscp.port):
            assert f":{port}" not in text and f'"port": {port}' not in text, text
        assert "127.0.0.1" not in text, text
    echo = results[0].structured_content
    assert echo is not None and (echo["host"], echo["port"], echo["node"]) == (None, None, "default")
    assert results[2].structured_content is not None and results[2].structured_content["success"] is False
    assert results[5].is_error  # the down node's failure is an error that still names no address


async def test_text_blocks_are_compact_json_of_the_structured_result(service: RunningService) -> None:
    async with mcp_client(service.mcp_url, "modern") as client:
        result = await client.call_tool("get_attribute_presets", {})
    text = result.content[0].text  # type: ignore[union-attr]
    assert text == json.dumps(result.structured_content, ensure_ascii=False, separators=(",", ":"))


async def test_refused_calls_are_answered_and_the_service_goes_on(service: RunningService) -> None:
    async with mcp_client(service.mcp_url, "legacy") as client:
        await call_error(client, "query_patients", name="SMITH*")
        found = await call_ok(client, "query_patients", patient_id="PAT002")
    assert found["count"] == 1 and found["node"] == "default"


# --- start-up ---------------------------------------------------------------------------------


def test_start_up_names_the_default_pacs_the_store_and_the_auth_mode(
    service: RunningService, orthanc: RunningPacs
) -> None:
    line = next(entry for entry in service.log().splitlines() if "default PACS" in entry)
    assert f"default PACS {orthanc.ae_title}@{orthanc.host}:{orthanc.port}" in line
    assert "session store memory" in line
    assert "authentication none, loopback clients only" in line


def test_a_taken_port_is_reported_first_and_exits_non_zero(tmp_path: Path) -> None:
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        finished = subprocess.run(
            [sys.executable, "-m", "dicom_mcp", "--port", str(port)],
            env=service_env({"DICOM_PORT": "1"}),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert finished.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in finished.stderr
    assert "dicom-mcp on http" not in finished.stderr  # never claimed to serve
