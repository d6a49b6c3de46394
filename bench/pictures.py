"""The docs' multi-frame pictures, made by the real service from a real Orthanc: `python -m bench.pictures`.

- docs/enhanced-vs-classic-ct.png: frame 100 of the bench's 200-frame Enhanced CT (bench/pacs.py:
  rescale in the Shared Functional Groups, a window per frame in the Per-frame ones) as
  render_image shows it, next to the same slice stored as a classic CT Image (rescale and window at
  the top level), both in the window 40/400 HU.
- docs/viewer-frames.png: the study viewer on frame 100 of 200 of that instance, in Debian's
  chromium, inside the browser tests' host page (tests/viewer_host/host.html).

Both instances go into one study in an Orthanc of the test beds; the service runs with its defaults.
"""

from __future__ import annotations

import argparse
import base64
import copy
import io
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import numpy as np
from mcp import Client
from mcp.client import advertise
from mcp.client.streamable_http import streamable_http_client
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from PIL import Image, ImageDraw, ImageFont
from playwright.async_api import Frame, Page, Route, async_playwright
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, generate_uid

from bench.images import WINDOW, ImageKeys
from bench.pacs import FRAME_SIZE, FRAMES, FRAMES_SERIES_NUMBER, phantom_volume, write_frames
from dicom_mcp.tools.viewer import VIEWER_URI
from testbeds.clients import TIMEOUT
from testbeds.enhanced import classic_ct
from testbeds.images import CT_IMAGE, UID_ROOT
from testbeds.pacs.orthanc import run_orthanc
from testbeds.service import run_service, service_env

ROOT = Path(__file__).resolve().parents[1]
HOST_PAGE = ROOT / "tests" / "viewer_host" / "host.html"
HOST_URL, VIEW_URL = "http://host.test/host.html", "http://view.test/viewer.html"
CSP = (  # the MCP Apps spec's default for a view without _meta.ui.csp, as the browser tests serve it
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; media-src 'self' data:; connect-src 'none'; frame-src 'none'; "
    "object-src 'none'; base-uri 'self'"
)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
]
FRAME = 100  # the frame both pictures show
MAX_BYTES = 300_000  # each PNG in docs/ stays under this
APPS = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})


def write_study(directory: Path) -> tuple[ImageKeys, ImageKeys]:
    """The Enhanced CT and its frame 100 as a classic CT Image, in one study; their keys."""
    directory.mkdir(parents=True)
    template = classic_ct()  # a patient, a study and file meta, as testbeds.enhanced makes them
    for keyword in ("RescaleSlope", "RescaleIntercept", "RescaleType", "WindowCenter", "WindowWidth"):
        delattr(template, keyword)
    del template.PixelSpacing, template.PixelData
    template.PatientName, template.PatientID = "PHANTOM^CHEST", "PHANTOM1"
    template.StudyDescription = "CHEST PHANTOM"
    path = directory / "enhanced.dcm"
    enhanced = write_frames(template, f"{UID_ROOT}92.{FRAMES_SERIES_NUMBER}", path)
    described = dcmread(path)
    described.SeriesDescription = f"ENHANCED CT, {FRAMES} FRAMES"
    described.save_as(path, enforce_file_format=True)
    classic = copy.deepcopy(template)
    classic.file_meta = FileMetaDataset(template.file_meta)
    classic.SOPClassUID = classic.file_meta.MediaStorageSOPClassUID = UID(CT_IMAGE)
    classic.SeriesInstanceUID = generate_uid(prefix=UID_ROOT)
    classic.SOPInstanceUID = classic.file_meta.MediaStorageSOPInstanceUID = generate_uid(prefix=UID_ROOT)
    classic.SeriesNumber, classic.InstanceNumber = FRAMES_SERIES_NUMBER + 1, 1
    classic.SeriesDescription = f"CT, FRAME {FRAME} AS ONE SLICE"
    _slice(classic, phantom_volume()[FRAME - 1])
    classic.save_as(directory / "classic.dcm", enforce_file_format=True)
    keys = ImageKeys(
        str(classic.StudyInstanceUID), str(classic.SeriesInstanceUID), str(classic.SOPInstanceUID)
    )
    return enhanced, keys


def _slice(ds: Dataset, stored: np.ndarray) -> None:
    """Make `ds` a classic CT Image of `stored`: rescale (HU) and window at the top level."""
    ds.Rows = ds.Columns = FRAME_SIZE
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleSlope, ds.RescaleIntercept, ds.RescaleType = 1, -1024, "HU"
    ds.WindowCenter, ds.WindowWidth = WINDOW
    ds.PixelSpacing, ds.SliceThickness = [1.4, 1.4], 1.5
    ds.PixelData = stored.tobytes()
    ds["PixelData"].VR = "OW"


@asynccontextmanager
async def apps_client(url: str) -> AsyncIterator[Client]:
    """The SDK's client over HTTP, advertising the Apps extension as a host that shows the viewer does."""
    async with httpx2.AsyncClient(timeout=TIMEOUT) as http:
        transport = streamable_http_client(url, http_client=http)
        async with Client(transport, mode="2026-07-28", extensions=[APPS]) as client:
            yield client


async def rendered(client: Client, keys: ImageKeys, frame: int) -> tuple[Image.Image, dict[str, Any]]:
    """render_image of one frame in the window 40/400: the picture and its summary."""
    arguments = {
        "sop_instance_uid": keys.sop,
        "series_instance_uid": keys.series,
        "study_instance_uid": keys.study,
        "frame": frame,
        "window_center": WINDOW[0],
        "window_width": WINDOW[1],
    }
    result = await client.call_tool("render_image", arguments)
    if result.is_error or result.structured_content is None:
        raise RuntimeError(f"render_image failed: {result.content}")
    data = next(block.data for block in result.content if block.type == "image")
    return Image.open(io.BytesIO(base64.b64decode(data))), dict(result.structured_content)


async def side_by_side(client: Client, enhanced: ImageKeys, classic: ImageKeys) -> Image.Image:
    """The two renders next to each other, each captioned with what the summary says it used."""
    (left, left_says), (right, right_says) = (
        await rendered(client, enhanced, FRAME),
        await rendered(client, classic, 1),
    )
    same = np.array_equal(np.asarray(left), np.asarray(right))
    font = ImageFont.load_default(size=13)
    gap, top, bottom = 16, 44, 26
    sheet = Image.new("L", (2 * FRAME_SIZE + 3 * gap, FRAME_SIZE + top + bottom), 255)
    draw = ImageDraw.Draw(sheet)
    for n, (picture, says, title) in enumerate(
        ((left, left_says, "Enhanced CT"), (right, right_says, "CT Image (classic)"))
    ):
        x = gap + n * (FRAME_SIZE + gap)
        sheet.paste(picture.convert("L"), (x, top))
        frame = f"frame {says['frame']} of {says['number_of_frames']}"
        draw.text((x, 6), f"{title}, {frame}", fill=0, font=font)
        draw.text((x, 24), f"rescale: {says['rescale']['source']}", fill=90, font=font)
    verdict = "identical pixels" if same else "pixels differ"
    caption = f"render_image, window {WINDOW[0]:g}/{WINDOW[1]:g} HU: {verdict}"
    draw.text((gap, top + FRAME_SIZE + 6), caption, fill=0, font=font)
    if not same:
        print("!! the two renders differ")
    return sheet


async def viewer_shot(client: Client, keys: ImageKeys, out: Path, profile: Path) -> None:
    """The viewer, opened on the study as a host opens it, stepped to frame 100; its screenshot to `out`."""
    arguments = {"study_instance_uid": keys.study}
    opened = (await client.call_tool("open_study_viewer", arguments)).model_dump(
        mode="json", by_alias=True, exclude_none=True
    )
    html = (await client.read_resource(VIEWER_URI)).contents[0].text  # type: ignore[union-attr]

    async def call_tool(name: str, tool_arguments: dict[str, Any]) -> dict[str, Any]:
        result = await client.call_tool(name, tool_arguments)
        return result.model_dump(mode="json", by_alias=True, exclude_none=True)

    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path="/usr/bin/chromium",
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 900, "height": 1000},
        )
        try:
            await context.expose_function("mcpCallTool", call_tool)
            await context.route("**/*", _serve(html))
            page = await context.new_page()
            page.set_default_timeout(60_000)
            await page.goto(HOST_URL)
            await page.evaluate("([u, i, r]) => openView(u, i, r)", [VIEW_URL, arguments, opened])
            await page.wait_for_function("window.hostLog.initialized")
            view = next(f for f in page.frames if f.url == VIEW_URL)
            await step_to(page, view, keys.sop, FRAME)
            await page.locator("#view").screenshot(path=str(out))
        finally:
            await context.close()


def _serve(html: str) -> Any:
    """Serve the host page and the view (under the default CSP); refuse everything else."""

    async def serve(route: Route) -> None:
        if route.request.url == HOST_URL:
            await route.fulfill(body=HOST_PAGE.read_text(), content_type="text/html")
        elif route.request.url == VIEW_URL:
            await route.fulfill(body=html, content_type="text/html", headers={"Content-Security-Policy": CSP})
        else:
            await route.abort()

    return serve


async def step_to(page: Page, view: Frame, sop: str, frame: int) -> None:
    """From frame 1, page down (5 frames) and step (1) to `frame`, waiting for each picture shown."""
    at = 1
    await shown(view, sop, at)
    while at < frame:
        key, by = ("PageDown", 5) if frame - at >= 5 else ("ArrowDown", 1)
        await page.keyboard.press(key)
        at += by
        await shown(view, sop, at)
    await view.wait_for_function(
        "t => document.getElementById('ov-position').innerText.includes(t)", arg=f"frame {frame} of {FRAMES}"
    )


async def shown(view: Frame, sop: str, frame: int) -> None:
    """Wait until the main view shows frame `frame` of `sop`, loaded."""
    await view.wait_for_function(
        "([uid, frame]) => { const m = document.getElementById('main'); "
        "return m.dataset.sopInstanceUid === uid && m.dataset.frame === String(frame) "
        "&& m.complete && m.naturalWidth > 0; }",
        arg=[sop, frame],
    )


def save_small(image: Image.Image, path: Path) -> int:
    """Save as PNG; if over MAX_BYTES, as a 64-colour palette PNG instead. Returns the bytes written."""
    image.save(path, optimize=True)
    if path.stat().st_size > MAX_BYTES:
        image.convert("RGB").quantize(64).save(path, optimize=True)
    return path.stat().st_size


async def make(url: str, enhanced: ImageKeys, classic: ImageKeys, docs: Path, work: Path) -> None:
    async with apps_client(url) as client:
        sheet = await side_by_side(client, enhanced, classic)
        print(
            f"{docs / 'enhanced-vs-classic-ct.png'}: {save_small(sheet, docs / 'enhanced-vs-classic-ct.png')} bytes"
        )
        shot = work / "viewer.png"
        await viewer_shot(client, enhanced, shot, work / "profile")
        with Image.open(shot) as image:
            print(f"{docs / 'viewer-frames.png'}: {save_small(image, docs / 'viewer-frames.png')} bytes")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pictures", description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=Path, default=ROOT / "docs", help="where the PNGs go")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dicom-mcp-pictures-") as tmp:
        work = Path(tmp)
        enhanced, classic = write_study(work / "data")
        with run_orthanc(work / "orthanc", work / "data") as pacs:
            env = service_env(
                {
                    "DICOM_HOST": pacs.host,
                    "DICOM_PORT": str(pacs.port),
                    "DICOM_CALLED_AE_TITLE": pacs.ae_title,
                },
                log_level="WARNING",
            )
            with run_service(work, env) as service:
                anyio.run(make, service.mcp_url, enhanced, classic, options.docs, work)


if __name__ == "__main__":
    main()
