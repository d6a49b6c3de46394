"""The schemas `tools/list` publishes: what a model reads before a conversation starts, compact.

pydantic writes schemas for API documentation: a `title` on every property, an optional argument
as `anyOf [T, {type: null}]` with `default: null`, nested models under `$defs`, and the same long
description on every tool that shares an argument. For 16 tools that was 40 KB of JSON, about
10,000 tokens. `published()` rewrites the listing; its budget is 16 KiB (tests/test_tool_schemas.py).

Inputs: closed (`additionalProperties: false`), `limit` capped at the operator's maximum. An
optional argument is simply not required: its type, no `null` branch, no `default: null` (an
explicit null is still accepted: contract.py validates against the full schema, closed by
`tighten`). Length caps, and bounds that only keep a number finite, are enforced there too but
not published: they stop abuse, they do not guide a model. What several tools share is said
once (SHARED); a description that only restates the argument's name goes, and so do the argument
descriptions of a tool only the viewer calls (`visibility: ["app"]`: hosts hide it from the model).

Outputs: the result's fields and their types, `[T, "null"]` where a field may be null; a nested
object is published as `object`, its fields being in the result that carries it. The shapes are
written once, as pydantic models (models.py, viewer/models.py); MCP allows no `$ref` from one
tool's schema to another's, so each tool carries this minimal form of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from dicom_mcp.tools.params import WINDOW_LIMIT

# Arguments several tools share (params.py), as published: said once, short, or said elsewhere
# ("" = no prose). configure_dicom_server's description says what `session` is; `limit`'s name and
# range say what it is.
SHARED: Final[Mapping[str, str]] = {
    "session": "",
    "limit": "",
    "attribute_preset": "minimal, standard (default) or extended",
    "additional_attributes": "Extra DICOM keywords to return, e.g. ['PatientBirthDate']",
    "exclude_attributes": "DICOM keywords to leave out, e.g. ['StudyTime']",
    "window_center": "e.g. 40 for CT soft tissue; give with window_width",
    "window_width": "e.g. 400; give with window_center",
}
BOUNDS: Final = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
# What an argument's schema publishes, in this order, then its description; the rest is left out.
ARGUMENT_KEYWORDS: Final = ("type", "items", "enum", "const", "pattern", "format", *BOUNDS, "default")


def published(listing: dict[str, Any], max_limit: int) -> dict[str, Any]:
    """`listing` (a `tools/list` result) with each tool's schemas in their published form (in place)."""
    for tool in listing.get("tools", []):
        prose = not _app_only(tool)
        tool["inputSchema"] = published_input(tool["inputSchema"], max_limit, prose=prose)
        if isinstance(tool.get("outputSchema"), Mapping):
            tool["outputSchema"] = published_output(tool["outputSchema"])
    return listing


def published_input(schema: Mapping[str, Any], max_limit: int, *, prose: bool = True) -> dict[str, Any]:
    """An input schema as clients see it: closed, `limit` capped, each argument compact."""
    defs = schema.get("$defs", {})
    arguments = {
        name: _argument(name, _resolved(argument, defs), prose)
        for name, argument in schema.get("properties", {}).items()
    }
    compact: dict[str, Any] = {"type": "object", "properties": arguments}
    if schema.get("required"):
        compact["required"] = list(schema["required"])
    return tighten(compact, max_limit)


def published_output(schema: Mapping[str, Any]) -> dict[str, Any]:
    """An output schema as clients see it: the result's fields and their types."""
    defs = schema.get("$defs", {})
    fields = {
        name: _shape(_resolved(field, defs), defs) for name, field in schema.get("properties", {}).items()
    }
    return {"type": "object", "properties": fields}


def tighten(schema: dict[str, Any], max_limit: int) -> dict[str, Any]:
    """Close `schema` to other arguments, and cap `limit` at the operator's maximum (in place)."""
    schema["additionalProperties"] = False
    limit = schema.get("properties", {}).get("limit", {})
    for branch in limit.get("anyOf", [limit]):
        if branch.get("type") == "integer":
            branch["maximum"] = max_limit
    return schema


def non_null(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """The schema of an optional argument without its `null` branch."""
    branches = [b for b in schema.get("anyOf", [schema]) if b.get("type") != "null"]
    return branches[0] if len(branches) == 1 else schema


def _argument(name: str, schema: Mapping[str, Any], prose: bool) -> dict[str, Any]:
    """One argument: its non-null branch, the published keywords, a description that says something."""
    merged = {**non_null(schema), **{k: v for k, v in schema.items() if k != "anyOf"}}
    compact: dict[str, Any] = {key: merged[key] for key in ARGUMENT_KEYWORDS if key in merged}
    if "default" in compact and compact["default"] is None:
        del compact["default"]
    for bound in BOUNDS:
        if abs(compact.get(bound, 0)) >= WINDOW_LIMIT:
            del compact[bound]  # there only to keep the number finite
    if isinstance(compact.get("items"), Mapping):
        compact["items"] = {k: v for k, v in compact["items"].items() if k in ARGUMENT_KEYWORDS}
    description = SHARED.get(name, merged.get("description", "")).removesuffix(" (required)")
    if prose and description and not _restates(name, description):
        compact["description"] = description
    return compact


def _restates(name: str, description: str) -> bool:
    """Whether `description` says no more than the argument's name (`Patient ID` for patient_id)."""
    return description.replace(" ", "_").lower() == name.lower()


def _shape(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> dict[str, Any]:
    """A result field's type (a list with "null" if it may be null); an array's items typed the same way."""
    branches = [_resolved(b, defs) for b in schema.get("anyOf", [schema])]
    kinds = [b.get("type") for b in branches]
    if not all(isinstance(kind, str) for kind in kinds):
        return {}  # Any, or a union this form cannot say: every value is allowed
    compact: dict[str, Any] = {"type": kinds[0] if len(kinds) == 1 else kinds}
    for branch in branches:
        if "enum" in branch:
            compact["enum"] = [*branch["enum"], *([None] if "null" in kinds else [])]
        if isinstance(branch.get("items"), Mapping):
            compact["items"] = _shape(_resolved(branch["items"], defs), defs)
    return compact


def _resolved(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> Mapping[str, Any]:
    """`schema`, or the definition its local `$ref` names."""
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return {**defs[ref.removeprefix("#/$defs/")], **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _app_only(tool: Mapping[str, Any]) -> bool:
    """Whether hosts keep `tool` from the model (MCP Apps: `_meta.ui.visibility` is ["app"])."""
    ui = (tool.get("_meta") or {}).get("ui") or {}
    return isinstance(ui, Mapping) and ui.get("visibility") == ["app"]
