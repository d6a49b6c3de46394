"""Sections f-h of the bench: get_instance_metadata, move_series and render_image against DCMTK.

Each baseline is a DCMTK tool run on the same instance or series of the same Orthanc, timed as a
subprocess. Baseline and service calls alternate (one baseline run, then one call to each
service), so that drift in the machine affects both alike; every answer is checked.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import numpy as np
from PIL import Image

from bench import dcmtk
from bench.images import SIZE, WINDOW, ImageKeys
from bench.mcpload import Call, Tally, timed_call
from bench.measure import percentile
from bench.pacs import BIG_SERIES_SIZE
from bench.report import Report, Row, ms
from bench.sections import Bed, verdict_row
from testbeds.clients import mcp_client


async def alternate(
    bed: Bed, call: Call, baseline: Callable[[], float], runs: int, warmup: int, before: Callable[[], None]
) -> tuple[list[float], dict[str, Tally]]:
    """`warmup` + `runs` rounds of: the baseline, then `call` on each service (one warm client each).

    `before` runs ahead of each baseline run and each call, outside the clock.
    """
    base: list[float] = []
    tallies = {label: Tally() for label in bed.services}
    async with AsyncExitStack() as stack:
        clients = {
            label: await stack.enter_async_context(mcp_client(service.mcp_url, "modern"))
            for label, service in bed.services.items()
        }
        for n in range(warmup + runs):
            before()
            seconds = await anyio.to_thread.run_sync(baseline)
            if n >= warmup:
                base.append(seconds)
            for label, client in clients.items():
                before()
                await timed_call(client, call, tallies[label] if n >= warmup else Tally())
    return base, tallies


def uid_arguments(keys: ImageKeys) -> dict[str, str]:
    return {
        "sop_instance_uid": keys.sop,
        "series_instance_uid": keys.series,
        "study_instance_uid": keys.study,
    }


def emptied(directory: Path) -> Callable[[], None]:
    def empty() -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for path in directory.iterdir():
            path.unlink()

    return empty


def getscu_file(directory: Path, keys: ImageKeys) -> Path:
    """The one file getscu wrote, checked to be the instance asked for."""
    files = list(directory.iterdir())
    if len(files) != 1 or not files[0].name.endswith(keys.sop):
        raise RuntimeError(f"getscu wrote {[p.name for p in files]}, expected the instance {keys.sop}")
    return files[0]


def _rows(
    rows: list[Row], what: str, base: list[float], tallies: dict[str, Tally], goal: float, prefix: str = ""
) -> None:
    """One p50 row per service against the baseline's p50, and its wrong/failed count."""
    p50_base = percentile(base, 0.5)
    for label, tally in tallies.items():
        p50 = percentile(tally.latencies, 0.5)
        holds = p50 <= goal * p50_base
        rows.append(
            Row(
                f"{prefix}{label}", ms(p50), f"{what}: {ms(p50_base)}", p50 / p50_base, f"<= {goal:g}x", holds
            )
        )
        rows.append(verdict_row(f"{what}, {prefix}{label}", tally))


def metadata(bed: Bed, report: Report) -> None:
    """(f) get_instance_metadata vs getscu of the same instance, for a header alone and for the CT."""
    runs, pacs = bed.options.read_calls, bed.pacs
    directory = bed.workdir / "getscu"
    rows = report.section(
        f"f. get_instance_metadata, one instance, warm, one call after another (p50 of {runs})"
    )
    for name, keys in (
        ("header-only instance (< 1 KiB)", bed.data.small),
        (f"{SIZE}x{SIZE} CT (512 KiB)", bed.data.ct),
    ):

        def check(result: dict[str, Any], keys: ImageKeys = keys) -> str | None:
            return None if result.get("sop_instance_uid") == keys.sop else "another instance's header"

        def baseline(keys: ImageKeys = keys) -> float:
            seconds = dcmtk.getscu(pacs, keys, directory)
            getscu_file(directory, keys)
            return seconds

        call = Call("get_instance_metadata", uid_arguments(keys), check)
        base, tallies = anyio.run(alternate, bed, call, baseline, runs, 5, emptied(directory))
        _rows(rows, "getscu", base, tallies, 1.5, f"{name}, ")
    report.notes.append(
        "f. service: SDK client -> HTTP -> C-FIND (the SOP class) -> C-GET into memory -> header as JSON, "
        "all three UIDs given. getscu: the C-GET alone, the instance written to a file."
    )


def move(bed: Bed, report: Report) -> None:
    """(g) move_series of the 2,000-instance series vs movescu, to the same storescp."""
    runs, data, dest = bed.options.move_runs, bed.data, bed.destination
    rows = report.section(f"g. move_series, {BIG_SERIES_SIZE:,} instances to a storescp (p50 of {runs})")

    def arrived() -> str | None:
        got = dest.received()
        if len(got) != BIG_SERIES_SIZE or set(got) != data.big_sop_uids:
            return f"{len(got)} instances arrived ({len(set(got) & data.big_sop_uids)} of the series)"
        return None

    def check(result: dict[str, Any]) -> str | None:
        if result.get("completed") != BIG_SERIES_SIZE or result.get("failed"):
            return f"completed {result.get('completed')}, failed {result.get('failed')}"
        return arrived()

    def baseline() -> float:
        seconds = dcmtk.movescu(bed.pacs, data.big_study_uid, data.big_series_uid, dest.ae_title)
        if (problem := arrived()) is not None:
            raise RuntimeError(f"movescu: {problem}")
        return seconds

    arguments = {
        "series_instance_uid": data.big_series_uid,
        "study_instance_uid": data.big_study_uid,
        "destination": dcmtk.DEST_NODE,
    }
    call = Call("move_series", arguments, check)
    base, tallies = anyio.run(alternate, bed, call, baseline, runs, 1, dest.clear)
    _rows(rows, "movescu", base, tallies, 1.2)
    report.notes.append(
        "g. both ask Orthanc for one C-MOVE of the series (study and series UIDs given) to the same storescp "
        "(DCMTK, writing files); after each, the files that arrived are checked UID by UID."
    )


def render(bed: Bed, report: Report) -> None:
    """(h) render_image of the 512x512 CT vs getscu + dcmj2pnm with the same window."""
    runs, pacs, keys = bed.options.read_calls, bed.pacs, bed.data.ct
    center, width = WINDOW
    rows = report.section(
        f"h. render_image, CT {SIZE}x{SIZE}, window {center:g}/{width:g}, warm (p50 of {runs})"
    )
    directory, png = bed.workdir / "render", bed.workdir / "dcmj2pnm.png"

    def check(result: dict[str, Any]) -> str | None:
        window, size = result.get("window") or {}, result.get("output_size") or {}
        if (window.get("center"), window.get("width"), window.get("source")) != (center, width, "call"):
            return f"window {window}"
        if (result.get("rows"), result.get("columns"), size.get("width"), size.get("height")) != (SIZE,) * 4:
            return f"size {result.get('rows')}x{result.get('columns')} -> {size}"
        return None

    def baseline() -> float:
        seconds = dcmtk.getscu(pacs, keys, directory)
        seconds += dcmtk.dcmj2pnm(getscu_file(directory, keys), png, center, width)
        with Image.open(png) as image:
            if image.size != (SIZE, SIZE):
                raise RuntimeError(f"dcmj2pnm wrote a {image.size} PNG")
        return seconds

    arguments = {**uid_arguments(keys), "window_center": center, "window_width": width}
    call = Call("render_image", arguments, check)
    base, tallies = anyio.run(alternate, bed, call, baseline, runs, 5, emptied(directory))
    _rows(rows, "getscu + dcmj2pnm", base, tallies, 1.0)
    service_png = anyio.run(png_bytes, next(iter(bed.services.values())).mcp_url, arguments)
    report.notes.append(
        "h. service: C-FIND -> C-GET into memory -> pydicom's display pipeline -> PNG, returned in base64. "
        "Baseline: getscu writes the file, dcmj2pnm +Ww reads it and writes the PNG (two processes). "
        f"The two PNGs: {grey_difference(service_png, png)}."
    )


async def png_bytes(url: str, arguments: dict[str, Any]) -> bytes:
    """The PNG of one render_image call."""
    async with mcp_client(url, "modern") as client:
        result = await client.call_tool("render_image", arguments)
    return base64.b64decode(next(block.data for block in result.content if block.type == "image"))


def grey_difference(service_png: bytes, baseline_png: Path) -> str:
    """How far the service's grey levels are from dcmj2pnm's."""
    with Image.open(io.BytesIO(service_png)) as image:
        ours = np.asarray(image.convert("L"), dtype=np.int16)
    with Image.open(baseline_png) as image:
        theirs = np.asarray(image.convert("L"), dtype=np.int16)
    if ours.shape != theirs.shape:
        return f"different sizes ({ours.shape} vs {theirs.shape})"
    diff = np.abs(ours - theirs)
    return (
        f"grey levels differ by at most {diff.max()}, in {np.count_nonzero(diff) / diff.size:.1%} of pixels"
    )
