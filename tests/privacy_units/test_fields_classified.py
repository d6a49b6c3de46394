"""Every field a tool's result can hold has a rule in the pseudonymised view.

`privacy.answers` leaves out a field nobody classified (safe, but the answer silently loses it):
a field added to a tool later fails here until someone decides, in `answers.FIELDS`, what it
may show. DICOM keywords are not fields: `matches` rows and `attributes` follow Annex E. A
report's `text` (an object with a `kind`) has its own rule: withheld, or scrubbed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from dicom_mcp.privacy.fields import FIELDS
from dicom_mcp.services import build_services
from dicom_mcp.settings import Settings
from dicom_mcp.transport.server import build_server

pytestmark = pytest.mark.anyio

KEYED_BY_KEYWORD = frozenset({"matches", "attributes"})


async def output_schemas() -> dict[str, dict[str, Any]]:
    """Each tool's output schema, as the server registers it (no PACS is reached)."""
    settings = Settings(
        dicom_host="127.0.0.1",
        dicom_port=11112,
        dicom_called_ae_title="PACS",
        dicom_ae_title="MCPTEST",
        _env_file=None,  # type: ignore[call-arg]
    )
    services = build_services(settings)
    try:
        tools = await build_server(services).list_tools()
    finally:
        await services.aclose()
    return {tool.name: tool.output_schema for tool in tools if tool.output_schema}


def field_names(schema: Any, definitions: dict[str, Any], path: str = "") -> Iterator[tuple[str, str]]:
    """(path, name) of every property in `schema`, through $refs, arrays, unions and maps; a
    report's text is named `kind.text`."""
    if isinstance(schema, list):
        for item in schema:
            yield from field_names(item, definitions, path)
        return
    if not isinstance(schema, dict):
        return
    ref = schema.get("$ref")
    if isinstance(ref, str):
        yield from field_names(definitions[ref.rsplit("/", 1)[-1]], definitions, path)
    properties = schema.get("properties") or {}
    for name, inner in properties.items():
        yield f"{path}.{name}".lstrip("."), "kind.text" if name == "text" and "kind" in properties else name
        if name not in KEYED_BY_KEYWORD:
            yield from field_names(inner, definitions, f"{path}.{name}")
    for key in ("items", "additionalProperties", "anyOf", "oneOf", "allOf"):
        yield from field_names(schema.get(key), definitions, path)


async def test_every_tool_has_an_output_schema_to_check() -> None:
    schemas = await output_schemas()
    for tool in ("query_studies", "get_instance_metadata", "read_report", "render_image", "viewer_frames"):
        assert tool in schemas


async def test_every_result_field_of_every_tool_is_classified() -> None:
    unclassified = [
        f"{tool}: {path}"
        for tool, schema in (await output_schemas()).items()
        for path, name in field_names(schema, schema.get("$defs", {}))
        if name not in FIELDS and name != "kind.text"
    ]
    assert unclassified == []


def test_the_walk_finds_nested_fields_and_skips_keyword_objects() -> None:
    definitions: dict[str, Any] = {"Inner": {"properties": {"deep": {"type": "string"}}}}
    schema = {
        "properties": {
            "outer": {"type": "array", "items": {"$ref": "#/$defs/Inner"}},
            "maybe": {"anyOf": [{"properties": {"in_union": {}}}, {"type": "null"}]},
            "report": {"properties": {"kind": {}, "text": {}}},
            "text": {"type": "string"},
            "matches": {"items": {"properties": {"PatientName": {}}}},
        },
    }
    names = {name for _, name in field_names(schema, definitions)}
    assert names == {"outer", "deep", "maybe", "in_union", "matches", "report", "kind", "kind.text", "text"}
