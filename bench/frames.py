"""Section k of the bench: frames of a 200-frame Enhanced CT (256x256, 16 bits, 25 MiB of pixels).

- viewer_frames of ten frames (96-105), which the service retrieves once and renders in one
  sandbox job, vs `getscu` + `dcmj2pnm --frame-range 96 10`;
- render_image of frame 100 vs `getscu` + `dcmj2pnm --frame 100`, in the same window.

Baseline and service calls alternate (`bench.reads.alternate`), so that drift in the machine
affects both alike; every answer is checked, and one viewer_frames call is counted at the service's
/metrics to cost one C-GET.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
from PIL import Image

from bench import dcmtk
from bench.images import WINDOW
from bench.mcpload import Call, Tally
from bench.measure import percentile
from bench.pacs import FRAME_SIZE, FRAMES
from bench.reads import alternate, emptied, getscu_file, grey_difference, png_bytes, uid_arguments
from bench.report import Report, Row, ms
from bench.sections import Bed, verdict_row
from testbeds.clients import mcp_client

FIRST, COUNT = 96, 10  # the viewer's window: frames 96-105 (start 95 counts from 0)
FRAME = 100  # the frame render_image shows
RENDER_GOAL = 1.0  # the target: render_image of a frame within getscu + dcmj2pnm's time
C_GETS = "dicom_mcp_dicom_operation_seconds_count{"  # lines of this histogram's counts, by node and operation


def frames(bed: Bed, report: Report) -> None:
    """(k) viewer_frames of 10 frames and render_image of frame 100 vs getscu + dcmj2pnm."""
    runs, keys = bed.options.read_calls, bed.data.frames
    center, width = WINDOW
    rows = report.section(
        f"k. frames of a {FRAMES}-frame Enhanced CT {FRAME_SIZE}x{FRAME_SIZE} (25 MiB), window "
        f"{center:g}/{width:g}, warm (p50 of {runs})"
    )
    window = {"window_center": center, "window_width": width}
    viewer = Call(
        "viewer_frames", {**uid_arguments(keys), "start": FIRST - 1, "count": COUNT, **window}, _window_check
    )
    render = Call("render_image", {**uid_arguments(keys), "frame": FRAME, **window}, _render_check)
    for call, frame_options, goal in (
        (viewer, ["--frame-range", str(FIRST), str(COUNT)], None),
        (render, ["--frame", str(FRAME)], RENDER_GOAL),
    ):
        pngs = COUNT if call is viewer else 1
        fetches: list[float] = []
        baseline = _baseline(bed, frame_options, pngs, fetches)
        retrieved = emptied(bed.workdir / "frames")
        base, tallies = anyio.run(alternate, bed, call, baseline, runs, 5, retrieved)
        what = f"getscu + dcmj2pnm {' '.join(frame_options)}"
        _rows(rows, f"{call.tool}, ", what, base, tallies, goal)
        rows.append(
            Row("  of which getscu (C-GET to a file)", ms(percentile(fetches, 0.5)), "", None, "(info)")
        )
    for label, service in bed.services.items():
        gets = anyio.run(_c_gets_per_call, service.base_url, viewer)
        rows.append(Row(f"viewer_frames, {label}: C-GETs per call", f"{gets:g}", "", None, "1", gets == 1))
    service_png = anyio.run(png_bytes, next(iter(bed.services.values())).mcp_url, render.arguments)
    report.notes.append(
        "k. the instance: an Enhanced CT (rescale in the Shared Functional Groups, a window per frame in "
        "the Per-frame ones), each frame its own slice of a chest phantom with noise, stored Explicit VR "
        "Little Endian. viewer_frames: one C-GET of the instance into memory, ten frames rendered in one "
        "sandbox job, PNGs in _meta. render_image: C-FIND (the SOP class) -> C-GET -> one frame -> PNG. "
        "Baselines: getscu writes the file, dcmj2pnm +Ww reads only the frames asked for and writes "
        f"PNGs. Frame {FRAME}'s PNGs: {grey_difference(service_png, _png_path(bed, 1) / 'frame.png')}."
    )


def _png_path(bed: Bed, pngs: int) -> Path:
    """Where dcmj2pnm writes `pngs` frames: the same names every run, so each run replaces the last's."""
    return bed.workdir / f"frames-png-{pngs}"


def _baseline(bed: Bed, frame_options: list[str], pngs: int, fetches: list[float]) -> Callable[[], float]:
    """getscu of the instance, then dcmj2pnm of the frames; getscu's share goes to `fetches`."""
    keys, directory, out = bed.data.frames, bed.workdir / "frames", _png_path(bed, pngs)
    out.mkdir(parents=True, exist_ok=True)
    center, width = WINDOW

    def run() -> float:
        fetched = dcmtk.getscu(bed.pacs, keys, directory)
        fetches.append(fetched)
        source = getscu_file(directory, keys)
        argv = ["dcmj2pnm", "+Ww", f"{center:g}", f"{width:g}", *frame_options, "--write-png"]
        seconds = fetched + dcmtk._run([*argv, str(source), str(out / "frame.png")])
        written = sorted(out.iterdir())
        if len(written) != pngs:
            raise RuntimeError(f"dcmj2pnm wrote {len(written)} PNGs, expected {pngs}")
        with Image.open(written[0]) as image:
            if image.size != (FRAME_SIZE, FRAME_SIZE):
                raise RuntimeError(f"dcmj2pnm wrote a {image.size} PNG")
        return seconds

    return run


def _rows(
    rows: list[Row], prefix: str, what: str, base: list[float], tallies: dict[str, Tally], goal: float | None
) -> None:
    """One p50 row per service against the baseline's p50 (a target only with `goal`), and its checks."""
    p50_base = percentile(base, 0.5)
    for label, tally in tallies.items():
        p50 = percentile(tally.latencies, 0.5)
        target, holds = ("(info)", None) if goal is None else (f"<= {goal:g}x", p50 <= goal * p50_base)
        rows.append(
            Row(f"{prefix}{label}", ms(p50), f"{what}: {ms(p50_base)}", p50 / p50_base, target, holds)
        )
        rows.append(verdict_row(f"{what}, {prefix}{label}", tally))


def _window_check(result: dict[str, Any]) -> str | None:
    """Frames 96-105 of the 200, each 256x256 in the window asked for, none skipped."""
    shown = result.get("frames") or []
    numbers = [item.get("frame") for item in shown]
    if result.get("steps") != "frames" or result.get("total") != FRAMES:
        return f"steps {result.get('steps')}, total {result.get('total')}"
    if numbers != list(range(FIRST, FIRST + COUNT)) or result.get("skipped"):
        return f"frames {numbers}, {len(result.get('skipped') or [])} skipped"
    for item in shown:
        window = item.get("window") or {}
        if (window.get("center"), window.get("width"), window.get("source")) != (*WINDOW, "call"):
            return f"frame {item.get('frame')}: window {window}"
        if (item.get("width"), item.get("height")) != (FRAME_SIZE, FRAME_SIZE):
            return f"frame {item.get('frame')}: {item.get('width')}x{item.get('height')}"
    return None


def _render_check(result: dict[str, Any]) -> str | None:
    """Frame 100 of 200, 256x256, in the window asked for, rescaled from the shared functional groups."""
    window, size, rescale = (
        result.get("window") or {},
        result.get("output_size") or {},
        result.get("rescale") or {},
    )
    if (result.get("frame"), result.get("number_of_frames")) != (FRAME, FRAMES):
        return f"frame {result.get('frame')} of {result.get('number_of_frames')}"
    if (window.get("center"), window.get("width"), window.get("source")) != (*WINDOW, "call"):
        return f"window {window}"
    if (rescale.get("intercept"), rescale.get("source")) != (-1024, "shared functional groups"):
        return f"rescale {rescale}"
    if (size.get("width"), size.get("height")) != (FRAME_SIZE, FRAME_SIZE):
        return f"output size {size}"
    return None


async def _c_gets(client: httpx.AsyncClient) -> float:
    """The service's count of C-GETs (to every node), from /metrics."""
    lines = (await client.get("/metrics")).text.splitlines()
    gets = [line for line in lines if line.startswith(C_GETS) and 'operation="c-get"' in line]
    return sum(float(line.rsplit(" ", 1)[1]) for line in gets)


async def _c_gets_per_call(base_url: str, call: Call) -> float:
    """C-GETs the service made for one call (no other call runs meanwhile)."""
    async with (
        httpx.AsyncClient(base_url=base_url) as http,
        mcp_client(f"{base_url}/mcp", "modern") as client,
    ):
        before = await _c_gets(http)
        result = await client.call_tool(call.tool, call.arguments)
        if result.is_error or result.structured_content is None:
            raise RuntimeError(f"{call.tool} failed: {result.content}")
        return await _c_gets(http) - before
