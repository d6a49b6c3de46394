"""The published tool list: within its budget, without noise, true to every result, and no looser in force.

`tools/list` is what a model reads before a conversation starts. It is measured as the wire
carries it (compact JSON, as the SDK's HTTP transport writes it) and must fit in 16 KiB. The
schemas in it are compact (tools/schemas.py), so each check below makes sure nothing true was
lost: every tool's real structured result validates against its published output schema (the
SDK's client checks that too), the arguments the calls use validate against the published input
schemas, and the contract still refuses what it refused before, including the limits it no
longer publishes. The server runs in this process, in front of the sample PACS and its archive.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from mcp import Client
from mcp.client import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID

from dicom_mcp.demo import SampleArchive, SamplePacs, sample_datasets, start_sample_archive, start_sample_pacs
from dicom_mcp.model.target import Target
from dicom_mcp.pacs.nodes import NodeRegistry
from dicom_mcp.services import build_services
from dicom_mcp.settings import Settings
from dicom_mcp.tools.contract import argument_problems
from dicom_mcp.tools.schemas import tighten
from dicom_mcp.transport.server import build_server
from testbeds.clients import call_error

pytestmark = pytest.mark.anyio

BUDGET = 16 * 1024
MAX_LIMIT = 1200  # the operator's cap, not the default 1000; as many digits, so the budget holds as deployed
ARCHIVE = "archive"
APPS = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})


@dataclass(frozen=True)
class Sample:
    """The sample PACS and archive, and UIDs of the sample data set the calls use."""

    pacs: SamplePacs
    archive: SampleArchive
    report_study: str  # the follow-up chest CT: a structured report, a PDF report, images
    image_series: str
    image: str
    small_study: str  # the one to move: a chest X-ray, two instances
    small_series: str


@pytest.fixture(scope="module")
def sample() -> Iterator[Sample]:
    datasets = sample_datasets()
    with (
        start_sample_archive({str(ds.SOPClassUID) for ds in datasets}) as archive,
        start_sample_pacs(
            datasets, move_destinations={archive.ae_title: (archive.host, archive.port)}
        ) as pacs,
    ):
        report = next(ds for ds in datasets if ds.Modality == "SR")
        image = next(
            ds for ds in datasets if ds.Modality == "CT" and ds.StudyInstanceUID == report.StudyInstanceUID
        )
        xray = next(ds for ds in datasets if ds.Modality == "CR")
        yield Sample(
            pacs,
            archive,
            str(report.StudyInstanceUID),
            str(image.SeriesInstanceUID),
            str(image.SOPInstanceUID),
            str(xray.StudyInstanceUID),
            str(xray.SeriesInstanceUID),
        )


def settings_for(sample: Sample) -> Settings:
    """Settings whose default PACS is the sample PACS, with a `limit` cap of MAX_LIMIT."""
    return Settings(
        dicom_host=sample.pacs.host,
        dicom_port=sample.pacs.port,
        dicom_called_ae_title=sample.pacs.ae_title,
        dicom_ae_title="MCPTEST",
        max_limit=MAX_LIMIT,
        _env_file=None,  # type: ignore[call-arg]
    )


@asynccontextmanager
async def client_for(sample: Sample) -> AsyncIterator[Client]:
    """An SDK client, as a host with the Apps extension, of a fresh server in front of `sample`."""
    archive = Target(sample.archive.host, sample.archive.port, sample.archive.ae_title, name=ARCHIVE)
    nodes = NodeRegistry({ARCHIVE: archive}, {ARCHIVE: "The sample archive"}, frozenset({ARCHIVE}))
    services = build_services(settings_for(sample), extra_nodes=nodes)
    try:
        async with Client(build_server(services), extensions=[APPS]) as client:
            yield client
    finally:
        await services.aclose()


async def listing(client: Client) -> dict[str, Any]:
    """The `tools/list` result as its wire dict."""
    return (await client.list_tools()).model_dump(mode="json", by_alias=True, exclude_none=True)


def wire_bytes(value: Any) -> int:
    """Size of `value` as the SDK's HTTP transport writes it: compact JSON, ASCII-escaped."""
    return len(json.dumps(value, separators=(",", ":")).encode())


def by_name(listed: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {tool["name"]: tool for tool in listed["tools"]}


def subschemas(schema: Any) -> Iterator[Mapping[str, Any]]:
    """`schema` and every schema inside it (the values of `properties`, not its property names)."""
    if not isinstance(schema, Mapping):
        return
    yield schema
    for group in ("properties", "$defs"):
        for inner in schema.get(group, {}).values():
            yield from subschemas(inner)
    for key in ("items", "additionalProperties"):
        yield from subschemas(schema.get(key))
    for inner in schema.get("anyOf", []):
        yield from subschemas(inner)


def calls(sample: Sample) -> dict[str, dict[str, Any]]:
    """Arguments that make each tool succeed against the sample PACS."""
    study, series = {"study_instance_uid": sample.report_study}, {"series_instance_uid": sample.image_series}
    return {
        "verify_connection": {},
        "get_attribute_presets": {},
        "list_dicom_nodes": {},
        "query_patients": {"name_pattern": "DEMO*", "limit": 2},
        "query_studies": {"study_date": "20190101-", "attribute_preset": "extended"},
        "query_series": {**study, "additional_attributes": ["PatientBirthDate"]},
        "query_instances": {**series, "exclude_attributes": ["SOPClassUID"]},
        "get_instance_metadata": {"sop_instance_uid": sample.image},
        "read_report": study,
        "render_image": {"sop_instance_uid": sample.image, "window_center": 40, "window_width": 400},
        "move_study": {"study_instance_uid": sample.small_study, "destination": ARCHIVE},
        "move_series": {"series_instance_uid": sample.small_series, "destination": ARCHIVE},
        "open_study_viewer": study,
        "viewer_thumbnails": study,
        "viewer_frames": {**study, **series, "count": 2},
        "configure_dicom_server": {"node": ARCHIVE},  # last: it points the connection at the archive
    }


async def test_the_tool_list_fits_in_16_kib(sample: Sample) -> None:
    async with client_for(sample) as client:
        listed = await listing(client)
    parts = {
        part: sum(wire_bytes(tool.get(key, "")) for tool in listed["tools"])
        for part, key in (
            ("input", "inputSchema"),
            ("output", "outputSchema"),
            ("descriptions", "description"),
        )
    }
    assert set(by_name(listed)) == set(calls(sample))  # every tool is counted
    assert wire_bytes(listed) <= BUDGET, f"tools/list is {wire_bytes(listed)} bytes, of which {parts}"


async def test_no_schema_carries_a_title_a_null_default_or_a_reference(sample: Sample) -> None:
    async with client_for(sample) as client:
        listed = await listing(client)
    for tool in listed["tools"]:
        for key in ("inputSchema", "outputSchema"):
            for schema in subschemas(tool.get(key)):
                assert "title" not in schema, (tool["name"], key, schema)
                assert schema.get("default", "none given") is not None, (tool["name"], key, schema)
                assert not {"$ref", "$defs", "anyOf"} & schema.keys(), (tool["name"], key, schema)
            Draft202012Validator.check_schema(tool.get(key, {}))


async def test_an_optional_argument_is_its_type_alone_and_not_required(sample: Sample) -> None:
    async with client_for(sample) as client:
        tools = by_name(await listing(client))
    limit = tools["query_patients"]["inputSchema"]["properties"]["limit"]
    assert limit == {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}
    assert "required" not in tools["query_patients"]["inputSchema"]
    assert tools["render_image"]["inputSchema"]["required"] == ["sop_instance_uid"]
    for tool in tools.values():
        schema = tool["inputSchema"]
        assert (schema["type"], schema["additionalProperties"]) == ("object", False)
        for name, argument in schema["properties"].items():
            assert isinstance(argument.get("type"), str), (tool["name"], name, argument)


async def test_every_structured_result_validates_against_its_published_output_schema(sample: Sample) -> None:
    async with client_for(sample) as client:
        tools = by_name(await listing(client))
        assert set(tools) == set(calls(sample))
        for name, arguments in calls(sample).items():
            Draft202012Validator(tools[name]["inputSchema"]).validate(arguments)
            result = await client.call_tool(name, arguments)  # the SDK's client validates it too
            assert not result.is_error, (name, result.content)
            Draft202012Validator(tools[name]["outputSchema"]).validate(result.structured_content)


async def test_a_field_that_may_be_null_is_published_so(sample: Sample) -> None:
    async with client_for(sample) as client:
        tools = by_name(await listing(client))
        echo = (await client.call_tool("verify_connection", {})).structured_content
    assert echo is not None and echo["host"] is None  # named nodes' addresses stay hidden
    fields = tools["verify_connection"]["outputSchema"]["properties"]
    assert fields["host"] == {"type": ["string", "null"]} and fields["success"] == {"type": "boolean"}


async def test_an_explicit_null_is_still_accepted_where_an_argument_is_optional(sample: Sample) -> None:
    async with client_for(sample) as client:
        result = await client.call_tool(
            "query_patients", {"patient_id": None, "limit": None, "session": None}
        )
    assert not result.is_error, result.content
    assert result.structured_content is not None and result.structured_content["limit"] >= 1


@pytest.mark.parametrize(
    ("tool", "arguments", "expected"),
    [
        (
            "query_studies",
            {"PatientID": "P1"},
            "query_studies has no argument 'PatientID' (did you mean patient_id?)",
        ),
        ("query_patients", {"limit": MAX_LIMIT + 1}, f"limit must be an integer between 1 and {MAX_LIMIT}"),
        ("query_patients", {"limit": "5"}, f"limit must be an integer between 1 and {MAX_LIMIT}"),
        ("query_series", {}, "study_instance_uid is required"),
        # Enforced, though not published:
        (
            "query_patients",
            {"patient_id": "P" * 257},
            "patient_id must be a string of at most 256 characters",
        ),
        (
            "read_report",
            {"study_instance_uid": ""},
            "study_instance_uid must be a non-empty string of at most 64 characters",
        ),
        (
            "viewer_thumbnails",
            {"study_instance_uid": "1.2", "series_instance_uids": ["1.2.3"] * 101},
            "series_instance_uids must be a list of at most 100 strings",
        ),
        (
            "render_image",
            {"sop_instance_uid": "1.2", "frame": 2**31},
            "frame must be an integer between 1 and 2147483647",
        ),
        (
            "render_image",
            {"sop_instance_uid": "1.2", "window_center": 1e10, "window_width": 400},
            "window_center must be a finite number from -1e+09 to 1e+09",
        ),
        (
            "viewer_frames",
            {
                "study_instance_uid": "1.2",
                "series_instance_uid": "1.2.3",
                "window_center": 40,
                "window_width": 0,
            },
            "window_width must be a finite number above 0 to 1e+09",
        ),
        (
            "viewer_frames",
            {"study_instance_uid": "1.2", "series_instance_uid": "1.2.3", "count": 11},
            "count must be an integer between 1 and 10",
        ),
    ],
)
async def test_the_contract_still_refuses_what_it_refused(
    sample: Sample, tool: str, arguments: dict[str, Any], expected: str
) -> None:
    async with client_for(sample) as client:
        message = await call_error(client, tool, **arguments)
    assert message.split("; it accepts: ")[0] == f"invalid input: {expected}"


async def test_a_nan_is_refused_though_it_passes_every_bound(sample: Sample) -> None:
    # The SDK's client sends NaN as null, so the contract is asked directly (raw HTTP: tests/hardening).
    services = build_services(settings_for(sample))
    try:
        tools = {tool.name: tool for tool in await build_server(services).list_tools()}
    finally:
        await services.aclose()
    validator = Draft202012Validator(tighten(tools["render_image"].input_schema, MAX_LIMIT))
    arguments = {"sop_instance_uid": "1.2", "window_center": math.nan, "window_width": 400}
    assert argument_problems("render_image", validator, arguments) == [
        "window_center must be a finite number from -1e+09 to 1e+09"
    ]
