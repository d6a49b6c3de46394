"""The study viewer's tools without a browser: bindings, visibility, the resource, results and budgets.

The server runs in this process in front of Orthanc and dcmqrscp, each loaded with the generated
studies of tests/viewer_host/study.py and tests/viewer_host/cine.py (multi-frame instances);
pictures are checked against DICOM's window formula and the frames' generated colours. Requests
that reach the PACS are counted by a relay in front of it (testbeds.dimse_tap).
"""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from mcp import Client
from mcp.client import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from mcp_types import CallToolResult
from PIL import Image

from dicom_mcp.services import build_services
from dicom_mcp.tools.viewer import PICTURE_BUDGET, RESULT_BUDGET, VIEWER_URI
from dicom_mcp.transport.server import build_server
from dicom_mcp.viewer.models import IMAGES_META
from testbeds.clients import call_error
from testbeds.dimse_tap import Tap, tap
from testbeds.pacs import RunningPacs
from testbeds.pacs.dcmqrscp import run_dcmqrscp
from testbeds.pacs.orthanc import run_orthanc
from tests.tools.conftest import settings_for
from tests.viewer_host import cine, study
from tests.viewer_host.cine import (
    CENTRE,
    CINE_STUDY_UID,
    CORNER,
    MIXED_FRAMES,
    US_FRAME_TIME,
    US_FRAMES,
    XA_FRAMES,
    XA_WINDOW,
    CineStudy,
    us_colour,
    xa_value,
)
from tests.viewer_host.study import AIR, BODY, BONE, LUNG, SLICES, STUDY_UID, Study, body_hu, linear

pytestmark = pytest.mark.anyio

APPS = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})
APP_TOOLS = ("viewer_thumbnails", "viewer_frames")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Study:
    return study.build(tmp_path_factory.mktemp("viewer-study"))


@pytest.fixture(scope="module")
def cines(generated: Study) -> CineStudy:
    return cine.build(generated.directory)  # another study, in the same PACS


@pytest.fixture(scope="module", params=["orthanc", "dcmqrscp"])
def viewer_pacs(
    request: pytest.FixtureRequest,
    generated: Study,
    cines: CineStudy,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningPacs]:
    run = run_orthanc if request.param == "orthanc" else run_dcmqrscp
    with run(tmp_path_factory.mktemp(f"viewer-{request.param}"), generated.directory) as pacs:
        yield pacs


@asynccontextmanager
async def viewer_client(pacs: RunningPacs, *, apps: bool = True, **settings: Any) -> AsyncIterator[Client]:
    services = build_services(settings_for(pacs, **settings))
    try:
        async with Client(build_server(services), extensions=[APPS] if apps else None) as client:
            yield client
    finally:
        await services.aclose()


def pictures(result: CallToolResult) -> dict[str, np.ndarray]:
    """The result's pictures by UID, decoded."""
    assert result.meta is not None
    return {
        item["uid"]: np.asarray(Image.open(io.BytesIO(base64.b64decode(item["data"]))))
        for item in result.meta[IMAGES_META]
    }


def wire_size(result: CallToolResult) -> int:
    return len(result.model_dump_json(by_alias=True, exclude_none=True))


async def ok(client: Client, tool: str, **arguments: object) -> CallToolResult:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result


async def test_the_tools_are_bound_to_the_viewer_and_the_app_tools_hidden_from_the_model(
    viewer_pacs: RunningPacs,
) -> None:
    async with viewer_client(viewer_pacs) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert EXTENSION_ID in (client.server_capabilities.extensions or {})
    opener = tools["open_study_viewer"].meta
    assert opener == {"ui": {"resourceUri": VIEWER_URI}}  # visible to the model and the app
    for name in APP_TOOLS:
        assert tools[name].meta == {"ui": {"resourceUri": VIEWER_URI, "visibility": ["app"]}}
        assert tools[name].annotations is not None and tools[name].annotations.read_only_hint


async def test_the_viewer_is_one_self_contained_html_resource(viewer_pacs: RunningPacs) -> None:
    async with viewer_client(viewer_pacs) as client:
        listed = {str(r.uri): r for r in (await client.list_resources()).resources}
        read = await client.read_resource(VIEWER_URI)
    assert listed[VIEWER_URI].mime_type == APP_MIME_TYPE
    (content,) = read.contents
    assert content.mime_type == APP_MIME_TYPE
    assert content.meta == {"ui": {"prefersBorder": True}}  # no csp: the host's restrictive default
    html = getattr(content, "text", "")
    assert html.startswith("<!DOCTYPE html>")
    for outside in ("http://", "https://", "<link", "@import", "src=", "fetch(", "XMLHttpRequest"):
        assert outside not in html, outside


async def test_open_study_viewer_summarises_the_study_and_lists_its_series(
    viewer_pacs: RunningPacs, generated: Study
) -> None:
    async with viewer_client(viewer_pacs) as client:
        result = await ok(client, "open_study_viewer", study_instance_uid=STUDY_UID)
    view = result.structured_content or {}
    assert [(s["series_number"], s["modality"], s["instances"], s["kind"]) for s in view["series"]] == [
        (1, "CT", SLICES, "image"),
        (2, "CR", 1, "image"),
        (3, "OT", 3, "image"),
        (4, "SR", 1, "report"),
    ]
    assert view["series"][0]["series_instance_uid"] == generated.ct_series
    (text,) = [block.text for block in result.content if block.type == "text"]
    assert text.startswith(f"Study {STUDY_UID}: 4 series - CR x1, CT x1, OT x1, SR x1; 3 image series")
    described = ' "AXIAL"' if viewer_pacs.name == "orthanc" else ""  # dcmqrscp keeps no descriptions
    assert f"- series 1 CT{described}: {SLICES} instances (image)" in text
    assert text.endswith(
        "The study viewer is open for the user: they scroll the series and read the reports there."
    )
    assert "VIEWER" not in text  # no patient name


async def test_without_the_extension_the_result_is_the_same_and_says_no_viewer_is_shown(
    viewer_pacs: RunningPacs,
) -> None:
    async with viewer_client(viewer_pacs, apps=False) as client:
        plain = await ok(client, "open_study_viewer", study_instance_uid=STUDY_UID)
    async with viewer_client(viewer_pacs) as client:
        with_apps = await ok(client, "open_study_viewer", study_instance_uid=STUDY_UID)
    assert plain.structured_content == with_apps.structured_content
    (text,) = [block.text for block in plain.content if block.type == "text"]
    assert "This client shows no viewer: use query_instances and render_image" in text


async def test_thumbnails_show_the_middle_instance_of_each_image_series_within_the_budget(
    viewer_pacs: RunningPacs, generated: Study
) -> None:
    async with viewer_client(viewer_pacs) as client:
        started = time.perf_counter()
        result = await ok(client, "viewer_thumbnails", study_instance_uid=STUDY_UID)
        elapsed = time.perf_counter() - started
    answer = result.structured_content or {}
    shown = {t["series_instance_uid"]: t for t in answer["thumbnails"]}
    assert set(shown) == {
        generated.ct_series,
        str(generated.cr.SeriesInstanceUID),
        str(generated.noise[0].SeriesInstanceUID),
    }  # type: ignore[union-attr]
    middle = generated.ct[(SLICES - 1) // 2]
    assert shown[generated.ct_series]["sop_instance_uid"] == middle.SOPInstanceUID
    assert (shown[generated.ct_series]["width"], shown[generated.ct_series]["height"]) == (128, 128)
    thumb = pictures(result)[generated.ct_series]
    # A uniform region keeps its grey level when shrunk: the body (0 HU) and the lung in 40/400.
    assert abs(int(thumb[BODY[0] // 2, BODY[1] // 2]) - linear(body_hu(3), 40, 400)) <= 1
    assert thumb[LUNG[0] // 2, LUNG[1] // 2] == 0
    assert answer["remaining"] == [] and answer["skipped"] == []
    size = wire_size(result)
    assert size < RESULT_BUDGET + 10_000 < 1_000_000
    assert not any(IMAGES_META in block.text for block in result.content if block.type == "text")
    print(
        f"\nthumbnail strip ({viewer_pacs.name}): 3 series, {size} bytes on the wire, {elapsed * 1000:.0f} ms"
    )


async def test_a_frame_window_in_the_instances_own_window_then_in_the_lung_window(
    viewer_pacs: RunningPacs, generated: Study
) -> None:
    async with viewer_client(viewer_pacs) as client:
        started = time.perf_counter()
        own = await ok(
            client, "viewer_frames", study_instance_uid=STUDY_UID, series_instance_uid=generated.ct_series
        )
        elapsed = time.perf_counter() - started
        lung = await ok(
            client,
            "viewer_frames",
            study_instance_uid=STUDY_UID,
            series_instance_uid=generated.ct_series,
            start=5,
            window_center=-600,
            window_width=1500,
        )
    answer = own.structured_content or {}
    assert [f["instance_number"] for f in answer["frames"]] == [1, 2, 3, 4, 5]
    assert [f["sop_instance_uid"] for f in answer["frames"]] == [ds.SOPInstanceUID for ds in generated.ct[:5]]
    assert (answer["total"], answer["start"], answer["next_start"]) == (SLICES, 0, 5)
    assert answer["frames"][0]["window"] == {"center": 40.0, "width": 400.0, "source": "instance"}
    for index, ds in enumerate(generated.ct[:5]):
        pixels = pictures(own)[ds.SOPInstanceUID]
        assert pixels.shape == (256, 256)
        assert pixels[BODY] == linear(body_hu(index), 40, 400)
        assert (pixels[AIR], pixels[LUNG], pixels[BONE]) == (0, 0, 255)
    later = lung.structured_content or {}
    assert [f["index"] for f in later["frames"]] == [5, 6] and later["next_start"] is None
    assert later["frames"][0]["window"] == {"center": -600.0, "width": 1500.0, "source": "call"}
    pixels = pictures(lung)[generated.ct[6].SOPInstanceUID]
    assert pixels[BODY] == linear(body_hu(6), -600, 1500)
    assert (pixels[AIR], pixels[LUNG], pixels[BONE]) == (
        linear(-1000, -600, 1500),
        linear(-800, -600, 1500),
        linear(1000, -600, 1500),
    )
    size = wire_size(own)
    assert size < RESULT_BUDGET + 10_000
    print(f"\nframe window ({viewer_pacs.name}): 5 CT slices 256x256, {size} bytes, {elapsed * 1000:.0f} ms")


async def test_pictures_too_large_for_one_result_come_in_several(
    viewer_pacs: RunningPacs, generated: Study
) -> None:
    series = str(generated.noise[0].SeriesInstanceUID)
    async with viewer_client(viewer_pacs) as client:
        started = time.perf_counter()
        first = await ok(client, "viewer_frames", study_instance_uid=STUDY_UID, series_instance_uid=series)
        elapsed = time.perf_counter() - started
        answer = first.structured_content or {}
        rest = await ok(
            client,
            "viewer_frames",
            study_instance_uid=STUDY_UID,
            series_instance_uid=series,
            start=answer["next_start"],
        )
    # Noise does not compress: each PNG passes the per-picture cap and is sent as JPEG.
    assert {f["mime_type"] for f in answer["frames"]} == {"image/jpeg"}
    assert all(f["bytes"] * 4 / 3 <= PICTURE_BUDGET for f in answer["frames"])
    assert len(answer["frames"]) == 2 and answer["next_start"] == 2
    assert [f["index"] for f in (rest.structured_content or {})["frames"]] == [2]
    size = wire_size(first)
    assert size < RESULT_BUDGET + 10_000 < 1_000_000
    print(
        f"\nframe window ({viewer_pacs.name}): 2 noisy 512x512 JPEGs, {size} bytes, {elapsed * 1000:.0f} ms"
    )


async def test_bad_requests_are_clear_errors(viewer_pacs: RunningPacs, generated: Study) -> None:
    series = generated.ct_series
    async with viewer_client(viewer_pacs) as client:
        half = await call_error(
            client,
            "viewer_frames",
            study_instance_uid=STUDY_UID,
            series_instance_uid=series,
            window_center=40,
        )
        beyond = await call_error(
            client, "viewer_frames", study_instance_uid=STUDY_UID, series_instance_uid=series, start=SLICES
        )
        too_many = await call_error(
            client, "viewer_frames", study_instance_uid=STUDY_UID, series_instance_uid=series, count=11
        )
        unknown = await call_error(client, "open_study_viewer", study_instance_uid="1.2.3.4.5.6.7")
        bad_uid = await call_error(client, "viewer_thumbnails", study_instance_uid="1.2.*")
    assert half == "invalid input: window_center and window_width go together: give both, or neither"
    assert beyond == f"invalid input: start must be below {SLICES}, the number of instances in the series"
    assert too_many == "invalid input: count must be an integer between 1 and 10"
    assert unknown.startswith("not found: ") and "Study Instance UID" in unknown
    assert bad_uid.startswith("invalid input: study_instance_uid")


async def test_every_viewer_call_is_audited_as_a_read_or_query(
    viewer_pacs: RunningPacs, generated: Study, tmp_path: Path
) -> None:
    audit = tmp_path / "audit.jsonl"
    async with viewer_client(viewer_pacs, audit_log=str(audit)) as client:
        await ok(client, "open_study_viewer", study_instance_uid=STUDY_UID)
        await ok(client, "viewer_thumbnails", study_instance_uid=STUDY_UID)
        await ok(
            client,
            "viewer_frames",
            study_instance_uid=STUDY_UID,
            series_instance_uid=generated.ct_series,
            count=2,
        )
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [(r["tool"], r["event"], r["outcome"]) for r in records] == [
        ("open_study_viewer", "query", "success"),
        ("viewer_thumbnails", "read", "success"),
        ("viewer_frames", "read", "success"),
    ]
    assert records[1]["instances"] == 3 and records[2]["instances"] == 2
    assert records[2]["keys"] == {"study_instance_uid": STUDY_UID, "series_instance_uid": generated.ct_series}


# --- Multi-frame instances: a series of one instance is stepped through by frame -------------------


def series_of(ds: Any) -> str:
    return str(ds.SeriesInstanceUID)


async def frames_window(client: Client, series: str, **arguments: object) -> CallToolResult:
    return await ok(
        client, "viewer_frames", study_instance_uid=CINE_STUDY_UID, series_instance_uid=series, **arguments
    )


def by_frame(result: CallToolResult) -> dict[int, np.ndarray]:
    """The result's pictures by frame number, decoded (one instance's frames share its UID)."""
    assert result.meta is not None
    return {
        item["frame"]: np.asarray(Image.open(io.BytesIO(base64.b64decode(item["data"]))))
        for item in result.meta[IMAGES_META]
    }


async def test_the_listing_says_a_series_is_one_multi_frame_instance_where_the_pacs_tells(
    viewer_pacs: RunningPacs, cines: CineStudy
) -> None:
    async with viewer_client(viewer_pacs) as client:
        result = await ok(client, "open_study_viewer", study_instance_uid=CINE_STUDY_UID)
    view = result.structured_content or {}
    listed = [(s["modality"], s["instances"], s["number_of_frames"], s["kind"]) for s in view["series"]]
    (text,) = [block.text for block in result.content if block.type == "text"]
    mixed = ("US", 2, None, "image")  # frames are counted for a series of one instance only
    if viewer_pacs.name == "orthanc":
        assert listed == [("US", 1, US_FRAMES, "image"), ("XA", 1, XA_FRAMES, "image"), mixed]
        assert f'- series 1 US "CINE": 1 instances of {US_FRAMES} frames (image)' in text
    else:  # dcmqrscp keeps no Number of Frames: viewer_frames tells, once it has read the instance
        assert listed == [("US", 1, None, "image"), ("XA", 1, None, "image"), mixed]


async def test_a_series_with_a_multi_frame_instance_among_others_steps_by_instance(
    viewer_pacs: RunningPacs, cines: CineStudy
) -> None:
    still, loop = cines.mixed
    async with viewer_client(viewer_pacs) as client:
        series = await frames_window(client, series_of(still))
        inside = await frames_window(client, series_of(still), sop_instance_uid=loop.SOPInstanceUID, start=2)
    answer = series.structured_content or {}
    assert (answer["steps"], answer["sop_instance_uid"], answer["total"], answer["next_start"]) == (
        "instances",
        None,
        2,
        None,
    )
    assert [(f["sop_instance_uid"], f["frame"], f["number_of_frames"]) for f in answer["frames"]] == [
        (still.SOPInstanceUID, 1, 1),
        (loop.SOPInstanceUID, 1, MIXED_FRAMES),
    ]
    assert [f["frame_time_ms"] for f in answer["frames"]] == [None, None]  # no cine between instances
    frames = inside.structured_content or {}
    assert (frames["steps"], frames["total"], [f["frame"] for f in frames["frames"]]) == ("frames", 4, [3, 4])
    assert tuple(by_frame(inside)[MIXED_FRAMES][CORNER]) == us_colour(MIXED_FRAMES - 1)


async def test_a_window_of_frames_is_one_retrieval_of_the_instance(
    viewer_pacs: RunningPacs, cines: CineStudy
) -> None:
    with tap(viewer_pacs.port) as relay:
        async with viewer_client(viewer_pacs, dicom_port=relay.port) as client:
            first, gets = await counted(relay, frames_window(client, series_of(cines.us), count=10))
            assert gets == 1
            last, gets = await counted(relay, frames_window(client, series_of(cines.us), start=10, count=10))
            assert gets == 1
    answer = first.structured_content or {}
    assert (answer["steps"], answer["sop_instance_uid"], answer["total"]) == (
        "frames",
        cines.us.SOPInstanceUID,
        US_FRAMES,
    )
    assert (answer["start"], answer["next_start"], answer["skipped"]) == (0, 10, [])
    assert [(f["index"], f["frame"]) for f in answer["frames"]] == [(k, k + 1) for k in range(10)]
    assert {f["frame_time_ms"] for f in answer["frames"]} == {US_FRAME_TIME}
    assert answer["frame_time_source"] == "frame time"
    assert {(f["number_of_frames"], f["width"], f["height"]) for f in answer["frames"]} == {
        (US_FRAMES, 128, 96)
    }
    later = last.structured_content or {}
    assert [f["frame"] for f in later["frames"]] == list(range(11, 21)) and later["next_start"] is None
    # RGB in PNG: exact. Frame k is us_colour(k) with a white square at columns 16 + 5k.
    one, twenty = by_frame(first)[1], by_frame(last)[US_FRAMES]
    assert tuple(one[CORNER]) == us_colour(0) and tuple(twenty[CORNER]) == us_colour(US_FRAMES - 1)
    assert tuple(one[48, 20]) == (255, 255, 255) and tuple(twenty[48, 20]) == us_colour(US_FRAMES - 1)
    assert tuple(twenty[48, 16 + 5 * (US_FRAMES - 1)]) == (255, 255, 255)
    assert wire_size(first) < RESULT_BUDGET + 10_000


async def counted(relay: Tap, call: Any) -> tuple[CallToolResult, int]:
    """The result of `call`, and how many C-GETs reached the PACS while it ran."""
    before = relay.counts["C-GET-RQ"]
    result = await call
    return result, relay.counts["C-GET-RQ"] - before


async def test_a_grey_multi_frame_run_shows_each_frame_in_the_instances_window(
    viewer_pacs: RunningPacs, cines: CineStudy
) -> None:
    center, width = XA_WINDOW
    async with viewer_client(viewer_pacs) as client:
        first = await frames_window(client, series_of(cines.xa), count=2)
        # Addressed by its SOP Instance UID, as the viewer does inside a longer series.
        last = await frames_window(
            client, series_of(cines.xa), sop_instance_uid=cines.xa.SOPInstanceUID, start=12, count=10
        )
    head, tail = first.structured_content or {}, last.structured_content or {}
    assert (head["total"], head["next_start"], tail["next_start"]) == (XA_FRAMES, 2, None)
    assert [f["frame"] for f in tail["frames"]] == [13, 14, 15, 16]
    assert tail["frames"][0]["window"] == {"center": center, "width": width, "source": "instance"}
    # Frame Time Vector: 50 ms between frames 1 to 8, then 100 ms; a frame shows until the next.
    assert [f["frame_time_ms"] for f in head["frames"]] == [50.0, 50.0]
    assert [f["frame_time_ms"] for f in tail["frames"]] == [100.0] * 4
    assert tail["frame_time_source"] == "frame time vector"
    one, sixteen = by_frame(first)[1], by_frame(last)[XA_FRAMES]
    assert one.shape == (128, 128) and (one[CORNER], sixteen[CORNER]) == (0, 0)
    assert one[CENTRE] == linear(xa_value(0), center, width)
    assert sixteen[CENTRE] == linear(xa_value(XA_FRAMES - 1), center, width)


async def test_a_frame_window_stops_at_the_calls_pixel_budget(
    viewer_pacs: RunningPacs, cines: CineStudy
) -> None:
    frame_pixels = 96 * 128
    async with viewer_client(viewer_pacs, render_max_pixels=3 * frame_pixels) as client:
        result = await frames_window(client, series_of(cines.us), start=4, count=10)
    answer = result.structured_content or {}
    assert [f["frame"] for f in answer["frames"]] == [5, 6, 7]
    assert (answer["skipped"], answer["next_start"]) == ([], 7)


async def test_bad_frame_requests_are_clear_errors(viewer_pacs: RunningPacs, cines: CineStudy) -> None:
    async with viewer_client(viewer_pacs) as client:
        beyond = await call_error(
            client,
            "viewer_frames",
            study_instance_uid=CINE_STUDY_UID,
            series_instance_uid=series_of(cines.us),
            start=US_FRAMES,
        )
        elsewhere = await call_error(
            client,
            "viewer_frames",
            study_instance_uid=CINE_STUDY_UID,
            series_instance_uid=series_of(cines.us),
            sop_instance_uid=cines.xa.SOPInstanceUID,
        )
    assert beyond == f"invalid input: start must be below {US_FRAMES}, the number of frames in the instance"
    assert elsewhere == "not found: the series has no instance with that SOP Instance UID"


async def test_a_frame_window_is_audited_as_one_instance_read(
    viewer_pacs: RunningPacs, cines: CineStudy, tmp_path: Path
) -> None:
    audit = tmp_path / "audit.jsonl"
    async with viewer_client(viewer_pacs, audit_log=str(audit)) as client:
        await frames_window(client, series_of(cines.us), sop_instance_uid=cines.us.SOPInstanceUID, count=3)
    (record,) = [json.loads(line) for line in audit.read_text().splitlines()]
    assert (record["tool"], record["outcome"], record["instances"], record["frames"]) == (
        "viewer_frames",
        "success",
        1,
        3,
    )
    assert record["keys"]["sop_instance_uid"] == cines.us.SOPInstanceUID
