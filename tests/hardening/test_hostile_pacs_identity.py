"""A hostile PACS sends the wrong instance, and callers send arguments no PACS should see.

All on the light service (see conftest). A C-GET answered with another patient's instance,
before or instead of the one asked for, or with the asked-for UID in another study: the result
is the asked instance's or a refusal, and holds nothing of the other patient. An empty UID, a
malformed one, a frame number or a window that is no usable number: refused in plain words,
before any request reaches the PACS.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from testbeds.bombs import RIGHT_TEXT, Place
from testbeds.clients import call_error, mcp_client
from testbeds.hostile_pacs import HostilePacs
from testbeds.service import RunningService
from testbeds.watch import text_of
from tests.hardening.conftest import (
    IMAGE,
    IMAGE_AFTER_OTHER,
    IMAGE_MISFILED,
    REPORT_AFTER_OTHER,
    REPORT_MISFILED,
    REPORT_ONLY_OTHER,
    assert_clear,
    call,
    canary_free,
)

pytestmark = [pytest.mark.anyio, pytest.mark.service]


# --- an empty required UID ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tool", "parameter"),
    [
        ("read_report", "study_instance_uid"),
        ("get_instance_metadata", "sop_instance_uid"),
        ("render_image", "sop_instance_uid"),
    ],
)
async def test_an_empty_required_uid_is_refused_before_any_request(
    light: tuple[HostilePacs, RunningService], tool: str, parameter: str
) -> None:
    pacs, service = light
    finds, gets = pacs.finds, pacs.gets
    result = await call(service, tool, **{parameter: ""})
    assert result.is_error, text_of(result)[:2000]
    assert pacs.gets == gets, "the service retrieved something"
    assert pacs.finds == finds, "the service queried the PACS"


# --- another patient's instance in a C-GET --------------------------------------------------------


async def test_a_report_sent_after_another_patients_is_read_alone(light_service: RunningService) -> None:
    result = await call(light_service, "read_report", study_instance_uid=REPORT_AFTER_OTHER.study)
    canary_free(result)
    assert not result.is_error, text_of(result)
    (report,) = dict(result.structured_content or {})["reports"]
    assert report["sop_instance_uid"] == REPORT_AFTER_OTHER.sop
    assert RIGHT_TEXT in report["text"]


@pytest.mark.parametrize("place", [REPORT_ONLY_OTHER, REPORT_MISFILED], ids=["only-other", "misfiled"])
async def test_a_report_the_pacs_sent_someone_elses_instance_for_is_absent_or_unreadable(
    light_service: RunningService, place: Place
) -> None:
    result = await call(light_service, "read_report", study_instance_uid=place.study)
    canary_free(result)
    if not result.is_error:
        reports = dict(result.structured_content or {})["reports"]
        assert all(report["kind"] == "unreadable" for report in reports), reports


async def test_metadata_picks_the_asked_instance_among_others(light_service: RunningService) -> None:
    result = await call(light_service, "get_instance_metadata", sop_instance_uid=REPORT_AFTER_OTHER.sop)
    canary_free(result)
    assert dict(result.structured_content or {})["sop_instance_uid"] == REPORT_AFTER_OTHER.sop


async def test_metadata_of_an_instance_the_pacs_did_not_send_is_an_error(
    light_service: RunningService,
) -> None:
    result = await call(light_service, "get_instance_metadata", sop_instance_uid=REPORT_ONLY_OTHER.sop)
    canary_free(result)
    assert result.is_error


async def test_a_rendered_image_is_the_asked_one_among_others(light_service: RunningService) -> None:
    result = await call(light_service, "render_image", sop_instance_uid=IMAGE_AFTER_OTHER.sop)
    canary_free(result)
    assert not result.is_error, text_of(result)


@pytest.mark.parametrize(
    ("tool", "place"),
    [("get_instance_metadata", REPORT_MISFILED), ("render_image", IMAGE_MISFILED)],
    ids=["metadata", "render"],
)
async def test_an_instance_from_another_study_than_located_is_refused(
    light_service: RunningService, tool: str, place: Place
) -> None:
    result = await call(light_service, tool, sop_instance_uid=place.sop)
    canary_free(result)
    assert result.is_error and "does not belong" in text_of(result), text_of(result)


# --- arguments no PACS should see -----------------------------------------------------------------


async def test_a_malformed_uid_to_move_is_invalid_input(light_service: RunningService) -> None:
    async with mcp_client(light_service.mcp_url, "modern") as client:
        message = await call_error(client, "move_study", study_instance_uid="1.2.*", destination="NOWHERE")
    assert "invalid input" in message, message
    assert_clear(message)


async def test_a_frame_number_past_any_integer_is_refused_in_plain_words(
    light_service: RunningService,
) -> None:
    async with mcp_client(light_service.mcp_url, "modern") as client:
        message = await call_error(client, "render_image", sop_instance_uid=IMAGE.sop, frame=1e308)
    assert "errors.pydantic.dev" not in message, message
    assert_clear(message)


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
async def test_a_window_that_is_not_a_finite_number_is_refused(
    light_service: RunningService, value: str
) -> None:
    # The SDK's client sends NaN and Infinity as null, so the request is written by hand.
    arguments = f'{{"sop_instance_uid": "{IMAGE.sop}", "window_center": {value}, "window_width": 400}}'
    answer = await raw_tool_call(light_service, "render_image", arguments)
    refused = "error" in answer or answer["result"].get("isError")
    assert refused, json.dumps(answer)[:1000]
    assert "errors.pydantic.dev" not in json.dumps(answer)


async def raw_tool_call(service: RunningService, tool: str, arguments: str) -> dict[str, Any]:
    """tools/call over plain HTTP with `arguments` as JSON text; the JSON-RPC answer."""
    headers = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
    async with httpx.AsyncClient(base_url=service.base_url, headers=headers, timeout=30) as http:
        hello = {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "raw", "version": "0"},
        }
        opened = await http.post(
            "/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello}
        )
        assert opened.status_code == 200, opened.text
        if session := opened.headers.get("mcp-session-id"):
            http.headers["mcp-session-id"] = session
        http.headers["mcp-protocol-version"] = "2025-06-18"
        await http.post("/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"})
        params = f'{{"name": "{tool}", "arguments": {arguments}}}'
        body = f'{{"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {params}}}'
        answered = await http.post("/mcp", content=body)
    return _jsonrpc_answer(answered)


def _jsonrpc_answer(response: httpx.Response) -> dict[str, Any]:
    """The JSON-RPC message of a plain JSON answer or of the last `data:` line of an event stream."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        lines = [line[5:] for line in response.text.splitlines() if line.startswith("data:")]
        return dict(json.loads(lines[-1]))
    return dict(response.json())
