"""The study viewer in a real browser: Debian's chromium, driven by playwright, in a test host page.

The host page (tests/viewer_host/host.html) shows the viewer in a sandboxed iframe served with the
MCP Apps spec's default CSP from another origin, answers ui/initialize, delivers the tool input and
result, and routes the viewer's tools/call to this test, which calls the running service over HTTP
through the SDK's client (advertising the Apps extension). Nothing else may reach the network.
The pictures the viewer shows are checked against DICOM's window formula; a screenshot is saved
(to docs/viewer.png when DICOM_MCP_DOCS_SCREENSHOT=1). A second study (tests/viewer_host/cine.py)
holds multi-frame instances: their frames are stepped through with the keys and played as a cine.
"""

from __future__ import annotations

import base64
import io
import json
import os
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import numpy as np
import pytest
from mcp import Client
from mcp.client import advertise
from mcp.client.streamable_http import streamable_http_client
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from PIL import Image
from playwright.async_api import Frame, Page, Route, async_playwright

from dicom_mcp.tools.viewer import VIEWER_URI
from testbeds.clients import TIMEOUT
from testbeds.pacs import RunningPacs
from testbeds.pacs.orthanc import run_orthanc
from testbeds.service import RunningService, run_service, service_env
from tests.viewer_host import cine, study
from tests.viewer_host.cine import (
    CENTRE,
    CINE_STUDY_UID,
    CORNER,
    MIXED_FRAMES,
    US_FRAMES,
    XA_FRAMES,
    XA_WINDOW,
    CineStudy,
    us_colour,
    xa_value,
)
from tests.viewer_host.study import AIR, BODY, BONE, LUNG, REPORT_TEXT, STUDY_UID, Study, body_hu, linear

pytestmark = pytest.mark.anyio

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOST_URL = "http://host.test/host.html"
VIEW_URL = "http://view.test/viewer.html"
# The spec's restrictive default for a resource without `_meta.ui.csp`, with the directives a
# sandbox must add (no nested frames, no plugins, base URI limited to the view's own).
DEFAULT_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; media-src 'self' data:; connect-src 'none'; "
    "frame-src 'none'; object-src 'none'; base-uri 'self'"
)
# Runs in every frame before its own scripts: reports CSP violations where the test can see them.
WATCH_CSP = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI}`);
});
"""
HOST_PAGE = Path(__file__).parent / "viewer_host" / "host.html"
SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "viewer.png"
APPS = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Study:
    return study.build(tmp_path_factory.mktemp("viewer-study"))


@pytest.fixture(scope="module")
def cines(generated: Study) -> CineStudy:
    return cine.build(generated.directory)  # another study, in the same PACS


@pytest.fixture(scope="module")
def service(
    generated: Study, cines: CineStudy, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningService]:
    with run_orthanc(tmp_path_factory.mktemp("viewer-orthanc"), generated.directory) as pacs:
        env = service_env(pacs_env(pacs))
        with run_service(tmp_path_factory.mktemp("viewer-service"), env) as running:
            yield running


def pacs_env(pacs: RunningPacs) -> dict[str, str]:
    return {"DICOM_HOST": pacs.host, "DICOM_PORT": str(pacs.port), "DICOM_CALLED_AE_TITLE": pacs.ae_title}


@dataclass
class Host:
    """What the test saw: the tools the view called (with size and time), console CSP reports, requests."""

    client: Client
    app_tools: set[str]
    calls: list[tuple[str, int, float]] = field(default_factory=list)
    arguments: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """Route one tools/call of the view to the service, as a host does (app-visible tools only)."""
        if name not in self.app_tools:
            raise ValueError(f"{name} is not visible to apps")
        started = time.perf_counter()
        self.arguments.append((name, arguments))
        result = await self.client.call_tool(name, arguments)
        wire = result.model_dump(mode="json", by_alias=True, exclude_none=True)
        self.calls.append((name, len(json.dumps(wire)), time.perf_counter() - started))
        return wire


@pytest.fixture
async def client(service: RunningService) -> AsyncIterator[Client]:
    async with httpx2.AsyncClient(timeout=TIMEOUT) as http:
        transport = streamable_http_client(service.mcp_url, http_client=http)
        async with Client(transport, mode="2026-07-28", extensions=[APPS]) as connected:
            yield connected


async def open_page(host: Host, html: str, playwright: Any, profile: Path) -> Any:
    context = await playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=CHROMIUM,
        headless=True,
        args=CHROMIUM_ARGS,
        viewport={"width": 900, "height": 1000},
    )
    await context.add_init_script(WATCH_CSP)
    await context.expose_function("mcpCallTool", host.call_tool)

    async def serve(route: Route) -> None:
        url = route.request.url
        host.requests.append(url)
        if url == HOST_URL:
            await route.fulfill(body=HOST_PAGE.read_text(), content_type="text/html")
        elif url == VIEW_URL:
            headers = {"Content-Security-Policy": DEFAULT_CSP}
            await route.fulfill(body=html, content_type="text/html", headers=headers)
        else:
            await route.abort()

    await context.route("**/*", serve)
    return context


def watch_console(page: Page, host: Host) -> None:
    def seen(message: Any) -> None:
        if "Content Security Policy" in message.text or "CSP violation" in message.text:
            host.violations.append(message.text)

    page.on("console", seen)


def decoded(src: str) -> np.ndarray:
    header, data = src.split(",", 1)
    assert header == "data:image/png;base64", header
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))))


async def shown(view: Frame, sop_uid: str) -> np.ndarray:
    """Wait until the main view shows `sop_uid` and its picture has loaded; return its pixels."""
    await view.wait_for_function(
        "uid => { const m = document.getElementById('main'); "
        "return m.dataset.sopInstanceUid === uid && m.complete && m.naturalWidth > 0; }",
        arg=sop_uid,
    )
    return decoded(await view.eval_on_selector("#main", "m => m.src"))


def regions(pixels: np.ndarray) -> tuple[int, ...]:
    return tuple(int(pixels[where]) for where in (AIR, BODY, LUNG, BONE))


def expected(index: int, center: float, width: float) -> tuple[int, ...]:
    return tuple(linear(hu, center, width) for hu in (-1000, body_hu(index), -800, 1000))


@asynccontextmanager
async def viewer_page(
    client: Client, study_uid: str, profile: Path
) -> AsyncIterator[tuple[Page, Frame, Host]]:
    """The viewer in chromium, opened on `study_uid` as a host opens it after open_study_viewer."""
    tools = (await client.list_tools()).tools
    app_tools = {
        t.name for t in tools if "app" in ((t.meta or {}).get("ui", {}).get("visibility") or ["app"])
    }
    host = Host(client, app_tools)
    arguments = {"study_instance_uid": study_uid}
    opened = await client.call_tool("open_study_viewer", arguments)
    html = (await client.read_resource(VIEWER_URI)).contents[0].text  # type: ignore[union-attr]
    result = opened.model_dump(mode="json", by_alias=True, exclude_none=True)
    async with async_playwright() as playwright:
        context = await open_page(host, html, playwright, profile)
        try:
            page = await context.new_page()
            page.set_default_timeout(20_000)
            watch_console(page, host)
            await page.goto(HOST_URL)
            await page.evaluate(
                "([url, input, result]) => openView(url, input, result)", [VIEW_URL, arguments, result]
            )
            await page.wait_for_function("window.hostLog.initialized")
            yield page, next(f for f in page.frames if f.url == VIEW_URL), host
        finally:
            await context.close()


async def test_the_viewer_in_chromium(client: Client, generated: Study, tmp_path: Path) -> None:
    async with viewer_page(client, STUDY_UID, tmp_path / "profile") as (page, view, host):
        await exercise(page, view, generated, host)
        await page.locator("#view").screenshot(path=str(tmp_path / "viewer.png"))
        if os.environ.get("DICOM_MCP_DOCS_SCREENSHOT") == "1":
            await page.locator("#view").screenshot(path=str(SCREENSHOT))
        log = await page.evaluate("window.hostLog")
        await check_the_sandbox(view, host)

    assert log["errors"] == [] and log["sizes"] and log["sizes"][-1]["height"] > 400
    assert {"viewer_thumbnails", "viewer_frames", "read_report"} <= set(log["calls"])
    for name, size, seconds in host.calls:
        print(f"\n{name}: {size} bytes on the wire, {seconds * 1000:.0f} ms")
        assert size < 1_000_000


async def exercise(page: Page, view: Frame, generated: Study, host: Host) -> None:
    ct = generated.ct
    # Thumbnails of the three image series load; the CT series is shown first, in its own window.
    await view.wait_for_function(
        "() => { const t = [...document.querySelectorAll('img[data-series-uid]')]; "
        "return t.length === 3 && t.every(i => i.complete && i.naturalWidth > 0); }"
    )
    strip = await view.eval_on_selector_all("img[data-series-uid]", "ts => ts.map(t => t.dataset.seriesUid)")
    assert strip == [
        generated.ct_series,
        str(generated.cr.SeriesInstanceUID),
        str(generated.noise[0].SeriesInstanceUID),
    ]  # type: ignore[union-attr]
    assert regions(await shown(view, ct[0].SOPInstanceUID)) == expected(0, 40, 400)
    assert "Image 1 / 7 · instance 1" in await view.inner_text("#ov-position")
    assert "W 400  L 40" in await view.inner_text("#ov-window")

    # The wheel steps to the next instance, an arrow key to the one after.
    stage = await view.locator("#stage").bounding_box()
    assert stage is not None
    await page.mouse.move(stage["x"] + stage["width"] / 2, stage["y"] + stage["height"] / 2)
    await page.mouse.wheel(0, 120)
    assert regions(await shown(view, ct[1].SOPInstanceUID)) == expected(1, 40, 400)
    await page.keyboard.press("ArrowDown")
    assert regions(await shown(view, ct[2].SOPInstanceUID)) == expected(2, 40, 400)

    # The lung preset re-renders the same instance in -600/1500, as the formula says.
    before = await view.eval_on_selector("#main", "m => m.src")
    await view.click("button[data-preset=lung]")
    await view.wait_for_function("src => document.getElementById('main').src !== src", arg=before)
    assert regions(await shown(view, ct[2].SOPInstanceUID)) == expected(2, -600, 1500)
    assert "W 1500  L -600" in await view.inner_text("#ov-window")

    # Dragging sets a window of the viewer's own; the series is then rendered in it.
    await page.mouse.move(stage["x"] + 300, stage["y"] + 200)
    await page.mouse.down()
    await page.mouse.move(stage["x"] + 340, stage["y"] + 180, steps=4)
    await page.mouse.up()
    await view.wait_for_function("() => document.getElementById('ov-window').innerText.includes('call')")
    await view.click("button[data-preset=soft]")
    await view.wait_for_function(
        "() => document.getElementById('ov-window').innerText.startsWith('W 400  L 40')"
    )
    assert regions(await shown(view, ct[2].SOPInstanceUID)) == expected(2, 40, 400)
    await page.keyboard.press("ArrowUp")  # back, to an instance not fetched in this window yet
    assert regions(await shown(view, ct[1].SOPInstanceUID)) == expected(1, 40, 400)

    # The report series is listed; a click reads it through read_report.
    await view.click("button.report")
    await view.wait_for_function(
        "t => document.getElementById('report-text').textContent.includes(t)", arg=REPORT_TEXT
    )
    assert host.violations == []


async def check_the_sandbox(view: Frame, host: Host) -> None:
    """No request left the page but the two it serves, and the CSP is in force (a probe is blocked and seen)."""
    assert host.violations == []
    assert set(host.requests) == {HOST_URL, VIEW_URL}
    await view.evaluate(
        "() => { const i = new Image(); i.src = 'http://probe.test/x.png'; document.body.append(i); }"
    )
    await view.wait_for_timeout(500)
    assert any("img-src" in v for v in host.violations), host.violations
    assert "http://probe.test/x.png" not in host.requests


# --- Multi-frame instances: frames stepped through like instances, and a cine ----------------------


async def frame_shown(view: Frame, sop_uid: str, frame: int) -> np.ndarray:
    """Wait until the main view shows frame `frame` of `sop_uid`, loaded; return its pixels."""
    await view.wait_for_function(
        "([uid, frame]) => { const m = document.getElementById('main'); "
        "return m.dataset.sopInstanceUid === uid && m.dataset.frame === String(frame) "
        "&& m.complete && m.naturalWidth > 0; }",
        arg=[sop_uid, frame],
    )
    return decoded(await view.eval_on_selector("#main", "m => m.src"))


async def current_frame(view: Frame) -> tuple[int, np.ndarray]:
    """The frame number shown now and its pixels, read together."""
    frame, src = await view.eval_on_selector("#main", "m => [Number(m.dataset.frame), m.src]")
    return frame, decoded(src)


async def test_frames_of_a_multi_frame_instance_step_and_play_in_chromium(
    client: Client, cines: CineStudy, tmp_path: Path
) -> None:
    us, xa = cines.us.SOPInstanceUID, cines.xa.SOPInstanceUID
    async with viewer_page(client, CINE_STUDY_UID, tmp_path / "profile") as (page, view, host):
        # The US series is one instance: its frames are the positions, as a series' instances are.
        assert tuple((await frame_shown(view, us, 1))[CORNER]) == us_colour(0)
        assert "Instance 1 · frame 1 of 20" in await view.inner_text("#ov-position")
        assert "25 fps" in await view.inner_text("#ov-position")
        stage = await view.locator("#stage").bounding_box()
        assert stage is not None
        await page.mouse.move(stage["x"] + stage["width"] / 2, stage["y"] + stage["height"] / 2)
        await page.mouse.wheel(0, 120)
        assert tuple((await frame_shown(view, us, 2))[CORNER]) == us_colour(1)
        for key, frame in (
            ("ArrowDown", 3),
            ("PageDown", 8),
            ("End", US_FRAMES),
            ("ArrowUp", 19),
            ("Home", 1),
        ):
            await page.keyboard.press(key)
            assert tuple((await frame_shown(view, us, frame))[CORNER]) == us_colour(frame - 1), key
            assert f"frame {frame} of {US_FRAMES}" in await view.inner_text("#ov-position")

        # Play: the frames change on their own, each the picture of its own frame; pause: they stop.
        await view.click("#cine")
        assert await view.get_attribute("#cine", "aria-pressed") == "true"
        for frame in (4, 9):  # passing frames the viewer has to fetch on the way
            pixels = await frame_shown(view, us, frame)
            assert tuple(pixels[CORNER]) == us_colour(frame - 1)
        await page.keyboard.press(" ")  # space pauses, as the button does
        assert await view.get_attribute("#cine", "aria-pressed") == "false"
        paused, pixels = await current_frame(view)
        assert tuple(pixels[CORNER]) == us_colour(paused - 1)
        await view.wait_for_timeout(400)  # ten frame times: a running cine would have moved on
        assert (await current_frame(view))[0] == paused
        assert f"frame {paused} of {US_FRAMES}" in await view.inner_text("#ov-position")
        await page.keyboard.press(" ")
        await view.wait_for_function(
            "f => Number(document.getElementById('main').dataset.frame) !== f", arg=paused
        )
        await view.click("#cine")

        # The XA run: its own series, frames in its own window; End shows frame 16.
        await view.click(f"button.thumb[data-series-uid='{cines.xa.SeriesInstanceUID}']")
        center, width = XA_WINDOW
        assert (await frame_shown(view, xa, 1))[CENTRE] == linear(xa_value(0), center, width)
        await page.keyboard.press("End")
        assert (await frame_shown(view, xa, XA_FRAMES))[CENTRE] == linear(
            xa_value(XA_FRAMES - 1), center, width
        )
        assert f"frame {XA_FRAMES} of {XA_FRAMES}" in await view.inner_text("#ov-position")
        assert "W 2048  L 1024" in await view.inner_text("#ov-window")
        await page.locator("#view").screenshot(path=str(tmp_path / "cine.png"))

        # A loop among other instances: Enter steps through its frames, Escape back to the series.
        still, loop = cines.mixed
        await view.click(f"button.thumb[data-series-uid='{still.SeriesInstanceUID}']")
        await frame_shown(view, still.SOPInstanceUID, 1)
        await page.keyboard.press("ArrowDown")
        await frame_shown(view, loop.SOPInstanceUID, 1)
        position = await view.inner_text("#ov-position")
        assert f"Image 2 / 2 · instance 2 · frame 1 of {MIXED_FRAMES}" in position and "Enter" in position
        await page.keyboard.press("Enter")
        await view.wait_for_function(
            "() => document.getElementById('ov-position').innerText.startsWith('Instance 2 · frame 1 of 4')"
        )
        await page.keyboard.press("End")
        last = await frame_shown(view, loop.SOPInstanceUID, MIXED_FRAMES)
        assert tuple(last[CORNER]) == us_colour(MIXED_FRAMES - 1)
        await page.keyboard.press("Escape")
        await view.wait_for_function(
            "() => document.getElementById('ov-position').innerText.startsWith('Image 2 / 2')"
        )
        assert await view.get_attribute("#main", "data-frame") == "1"
        log = await page.evaluate("window.hostLog")
        assert host.violations == []

    assert log["errors"] == []
    frames = [size for name, size, _ in host.calls if name == "viewer_frames"]
    assert frames and max(frames) < 1_000_000
    # Windows of frames, each asked for once (the viewer keeps what it has, and asks ahead).
    windows = [
        (a["series_instance_uid"], a.get("sop_instance_uid"), a["start"])
        for name, a in host.arguments
        if name == "viewer_frames"
    ]
    assert len(windows) == len(set(windows)), windows
    print(f"\n{len(windows)} frame windows for {US_FRAMES} + {XA_FRAMES} frames")
