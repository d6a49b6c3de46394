"""The tool contract, enforced before a tool runs: no unknown arguments, types and ranges checked.

A model that invents or misspells an argument must hear so: a dropped `patient_name` would
turn a narrow query into "list the whole PACS". Arguments are checked against each tool's
full input schema, closed (`additionalProperties: false`) and strictly (a number is not a
string), and every problem is told in the service's own words, naming the parameter and the
rule. A refused call is audited and counted like any other. Clients see the same arguments
in a compact form (`schemas.py`), which leaves out the length caps enforced here.

The same middleware writes each result's text block compactly (`text.py`): the structured
result it repeats is what clients parse; indentation and repeated keys only cost context. Text
a tool wrote itself (open_study_viewer's summary) is not a repeat and is left as it is.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from typing import Any, Final

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult, TextContent
from pydantic import BaseModel

from dicom_mcp.services import Services
from dicom_mcp.tools.call import record_refusal
from dicom_mcp.tools.context import caller_from_request
from dicom_mcp.tools.schemas import non_null, published, tighten
from dicom_mcp.tools.text import text_for

# Arguments models often guess, per tool, and what to say instead.
HINTS: Final[Mapping[str, Mapping[str, str]]] = {
    "query_patients": {
        "patient_name": "use name_pattern (DICOM names are written FAMILY^GIVEN, e.g. SMITH^JOHN or SMITH*)",
        "name": "use name_pattern (DICOM names are written FAMILY^GIVEN, e.g. SMITH^JOHN or SMITH*)",
    },
    "query_studies": dict.fromkeys(
        ("patient_name", "name", "name_pattern", "PatientName"),
        "query_studies has no name filter: find the patient with query_patients(name_pattern=...) "
        "first, then pass its patient_id",
    ),
}


class ToolContract:
    """Server middleware: checks `tools/call` arguments; publishes `tools/list` schemas compact."""

    def __init__(self, server: MCPServer[Any], services: Services) -> None:
        self._server = server
        self._services = services
        self._validators: dict[str, Draft202012Validator] | None = None

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method == "tools/list":
            return _published(await call_next(ctx), self._services.settings.max_limit)
        if ctx.method != "tools/call" or not isinstance(ctx.params, Mapping):
            return await call_next(ctx)
        name = ctx.params.get("name")
        arguments = ctx.params.get("arguments") or {}
        validator = (await self._all_validators()).get(name) if isinstance(name, str) else None
        if validator is None or not isinstance(arguments, Mapping):
            return await call_next(ctx)  # the SDK answers unknown tools and malformed calls
        problems = argument_problems(str(name), validator, arguments)
        if problems:
            message = "invalid input: " + "; ".join(problems)
            record_refusal(self._services, caller_from_request(ctx.request), str(name), message)
            return CallToolResult(content=[TextContent(type="text", text=message)], is_error=True)
        return _tidy(await call_next(ctx), str(name))

    async def _all_validators(self) -> dict[str, Draft202012Validator]:
        if self._validators is None:
            tools = await self._server.list_tools()
            limit = self._services.settings.max_limit
            self._validators = {
                tool.name: Draft202012Validator(tighten(tool.input_schema, limit)) for tool in tools
            }
        return self._validators


def argument_problems(tool: str, validator: Draft202012Validator, arguments: Mapping[str, Any]) -> list[str]:
    """What is wrong with `arguments`, one sentence per problem; empty when they are fine."""
    schema: Any = validator.schema
    accepted = list(schema.get("properties", {}))
    unknown = [key for key in arguments if key not in accepted]
    if unknown:
        return [_unknown(tool, key, accepted) for key in unknown]
    problems = [_explain(error) for error in validator.iter_errors(dict(arguments))]
    return problems + _non_finite(schema["properties"], arguments, problems)


def _non_finite(properties: Mapping[str, Any], arguments: Mapping[str, Any], told: list[str]) -> list[str]:
    """NaN (or an infinity) not told yet: a NaN passes every JSON Schema bound, each comparison being false."""
    return [
        f"{key} must be {_rule(non_null(properties[key]))}"
        for key, value in arguments.items()
        if isinstance(value, float)
        and not math.isfinite(value)
        and not any(t.startswith(f"{key} ") for t in told)
    ]


def _unknown(tool: str, key: str, accepted: list[str]) -> str:
    shown = key[:64]
    hint = HINTS.get(tool, {}).get(key) or _near(key, accepted)
    listed = ", ".join(accepted) if accepted else "no arguments"
    sentence = f"{tool} has no argument {shown!r}"
    return f"{sentence} ({hint}); it accepts: {listed}" if hint else f"{sentence}; it accepts: {listed}"


def _near(key: str, accepted: list[str]) -> str | None:
    """`did you mean x?` for a near spelling or a DICOM keyword of an argument (PatientID -> patient_id)."""
    folded = {name.replace("_", "").lower(): name for name in accepted}
    wanted = key.replace("_", "").lower()
    match = folded.get(wanted)
    if match is None:  # hostname -> host, uid -> ..._uid
        inside = [name for fold, name in folded.items() if len(fold) >= 4 and fold in wanted]
        match = inside[0] if len(inside) == 1 else None
    if match is None:
        close = difflib.get_close_matches(key.lower(), accepted, n=1, cutoff=0.6)
        match = close[0] if close else None
    return f"did you mean {match}?" if match else None


def _explain(error: ValidationError) -> str:
    """One schema violation, in the service's words."""
    given: Any = error.instance
    if error.validator == "required":
        required: Any = error.validator_value
        missing = [name for name in required if name not in (given or {})]
        return " and ".join(f"{name} is required" for name in missing)
    param = str(error.path[0]) if error.path else "arguments"
    where: Any = error.schema
    schema = non_null(where if isinstance(where, Mapping) else {})
    return f"{param} must be {_rule(schema)}"


def _rule(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type")
    if kind == "integer":
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and high is not None:
            return f"an integer between {low} and {high}"
        if low is not None:
            return f"an integer of at least {low}"
        return "an integer"
    if kind == "number":
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        high = schema.get("maximum")
        above = "above" if "exclusiveMinimum" in schema else "from"
        return (
            f"a finite number {above} {low:g} to {high:g}"
            if low is not None and high is not None
            else "a number"
        )
    if kind == "string":
        limit = schema.get("maxLength")
        kind_of = "a non-empty string" if schema.get("minLength") else "a string"
        return f"{kind_of} of at most {limit} characters" if limit else kind_of
    if kind == "array":
        limit = schema.get("maxItems")
        return f"a list of at most {limit} strings" if limit else "a list of strings"
    if kind == "boolean":
        return "true or false"
    return "a valid value"


def as_dict(result: HandlerResult) -> dict[str, Any] | None:
    """A handler's result as its wire dict (the SDK passes dicts; a model is dumped the same way)."""
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json", by_alias=True, exclude_none=True)
    return result


def _published(result: HandlerResult, max_limit: int) -> HandlerResult:
    """The tool list with its schemas compact, closed and capped (schemas.py)."""
    listed = as_dict(result)
    return None if listed is None else published(listed, max_limit)


def _tidy(result: HandlerResult, tool: str) -> HandlerResult:
    """Compact JSON in the text block that repeats a structured result; errors without the SDK's prefix."""
    answer = as_dict(result)
    if answer is None:
        return None
    structured = answer.get("structuredContent")
    content = answer.get("content", [])
    only_text = len(content) == 1 and content[0].get("type") == "text"
    if structured is not None and not answer.get("isError") and only_text and _repeats(content[0]):
        text = text_for(structured)
        answer["content"] = [{"type": "text", "text": text}]
    elif answer.get("isError"):
        prefix = f"Error executing tool {tool}: "
        for block in answer.get("content", []):
            if block.get("type") == "text" and block["text"].startswith(prefix):
                block["text"] = block["text"][len(prefix) :]
    return answer


def _repeats(block: Mapping[str, Any]) -> bool:
    """Whether a text block is the SDK's JSON of the structured result, not prose a tool wrote itself."""
    text = block.get("text")
    return isinstance(text, str) and text.startswith(("{", "["))
