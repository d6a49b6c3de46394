"""Section j of the bench: reading by C-MOVE to the service's own receiver, with C-GET beside it.

Both paths run on the same Orthanc, which allows C-GET and knows both receivers as move
destinations (`receiver_modalities`, given to it at start).

- One instance: get_instance_metadata of the 512x512 CT through a service with DICOM_RETRIEVE=move
  (its receiver listening under MCPSCU) vs `movescu` of that instance (IMAGE level) to the bench's
  storescp; and through a service with DICOM_RETRIEVE=get vs `getscu`.
- The 2,000-instance series: no tool reads a whole series, so the retrieval runs in this process:
  a DicomClient with a Receiver of its own (under MCPBENCH) fetches it by C-MOVE vs `movescu` of
  the series to storescp, and by C-GET vs `getscu`.

Each round times the four in turn (baseline, then ours, for each path), so that drift in the
machine affects all alike; every answer is checked. This section runs last: it installs the
service's pynetdicom settings (`configure_pynetdicom`) in the bench's own process.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack, ExitStack
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from pydicom import dcmread

from bench import dcmtk
from bench.mcpload import Call, Tally, timed_call
from bench.measure import percentile
from bench.pacs import BIG_SERIES_SIZE
from bench.report import Report, Row, ms
from bench.sections import Bed, verdict_row
from dicom_mcp.dimse.client import DicomClient
from dicom_mcp.dimse.reactor import configure_pynetdicom
from dicom_mcp.dimse.receiver import Receiver, addresses_of
from dicom_mcp.model.retrievals import Keys
from dicom_mcp.model.target import Target
from dicom_mcp.pacs.backend import ClientConfig
from dicom_mcp.pacs.budget import Budget
from testbeds.clients import mcp_client
from testbeds.net import free_port
from testbeds.service import RunningService, run_service, service_env

SERVICE_AET = "MCPSCU"  # the move service's DICOM_AE_TITLE (the default): its receiver's AE title
CLIENT_AET = "MCPBENCH"  # the in-process DicomClient's calling AE title, and its Receiver's
BIG_BUDGET = 2**32  # bytes a series retrieval may hold: far more than the series (see the notes)
ONE_GOAL, SERIES_GOAL = 1.5, 1.2  # the targets, move path vs movescu + storescp


def receiver_modalities() -> dict[str, list[str | int]]:
    """Orthanc's DicomModalities entries for both receivers, each on a free port."""
    return {ae.lower(): [ae, "127.0.0.1", free_port()] for ae in (SERVICE_AET, CLIENT_AET)}


def _port(bed: Bed, ae_title: str) -> int:
    (port,) = [int(entry[2]) for entry in bed.modalities.values() if entry[0] == ae_title]
    return port


def _series_files(bed: Bed) -> list[Path]:
    """The big series' files, as loaded into Orthanc."""
    assert bed.data.catalog.directory is not None
    return sorted(bed.data.catalog.directory.glob("bench_0*.dcm"))


def _files(directory: Path) -> list[str]:
    """The SOP Instance UIDs of the files a DCMTK tool wrote (named MODALITY.UID)."""
    return [path.name.split(".", 1)[1] for path in directory.iterdir()]


def receiver(bed: Bed, report: Report) -> None:
    """(j) One instance and the 2,000-instance series, by C-MOVE to a receiver and by C-GET."""
    calls, runs = bed.options.read_calls, bed.options.move_runs
    rows = report.section(
        f"j. reading without C-GET: C-MOVE to the service's receiver vs movescu + storescp, C-GET beside "
        f"(p50 of {calls}; series: of {runs})"
    )
    with ExitStack() as stack:
        services = {
            retrieve: stack.enter_context(run_service(bed.workdir, _env(bed, retrieve)))
            for retrieve in ("move", "get")
        }
        one = anyio.run(_one_instance, bed, services, calls, 5)
    _pairs(rows, "one CT instance (512 KiB), get_instance_metadata", one, ONE_GOAL)
    configure_pynetdicom()  # as the service does at start-up, before any association
    series, refusals = anyio.run(_series, bed, runs, 1)
    size = sum(path.stat().st_size for path in _series_files(bed))
    what = f"{BIG_SERIES_SIZE:,}-instance series ({size / 2**20:,.0f} MiB), DicomClient.get in process"
    _pairs(rows, what, series, SERIES_GOAL)
    by_move, by_get = (percentile(series[path][1].latencies, 0.5) for path in ("move", "get"))
    rows.append(
        Row("  series: C-MOVE path vs C-GET path", ms(by_move), f"C-GET: {ms(by_get)}", by_move / by_get)
    )
    report.notes.append(
        "j. one instance: SDK client -> HTTP -> C-FIND (the SOP class) -> C-MOVE to the service's receiver "
        "(DICOM_RETRIEVE=move, DICOM_MCP_RECEIVER_PORT) or C-GET (DICOM_RETRIEVE=get) -> header as JSON; "
        "movescu (IMAGE level) to storescp, which writes the file; getscu writes it. Series: "
        "DicomClient.get(Keys(study, series)) in the bench process with a Receiver of its own, vs movescu "
        "(SERIES level) to storescp and getscu, each counting the files written; every retrieval is "
        f"checked UID by UID. Receiver refusals over the series runs: {refusals or 'none'}."
    )


def _env(bed: Bed, retrieve: str) -> dict[str, str]:
    pacs = bed.pacs
    pacs_env = {
        "DICOM_HOST": pacs.host,
        "DICOM_PORT": str(pacs.port),
        "DICOM_CALLED_AE_TITLE": pacs.ae_title,
        "DICOM_AE_TITLE": SERVICE_AET,
        "DICOM_RETRIEVE": retrieve,
    }
    settings = {"log_level": "WARNING", "rate_limit_per_minute": "0"}
    if retrieve == "move":
        settings["receiver_port"] = str(_port(bed, SERVICE_AET))
    return service_env(pacs_env, **settings)


Paths = dict[str, tuple[list[float], Tally]]  # "move" or "get" -> baseline seconds, our tally
Ours = Callable[[Tally], Awaitable[object]]  # one retrieval of ours, timed and checked into the tally


async def _rounds(
    baselines: dict[str, Callable[[], float]],
    ours: dict[str, Ours],
    before: Callable[[], None],
    runs: int,
    warmup: int,
) -> Paths:
    """`warmup` + `runs` rounds of, for each path: its baseline, then ours; `before` ahead of each."""
    paths: Paths = {path: ([], Tally()) for path in baselines}
    for n in range(warmup + runs):
        for path, baseline in baselines.items():
            base, tally = paths[path] if n >= warmup else ([], Tally())
            before()
            base.append(await anyio.to_thread.run_sync(baseline))
            before()
            await ours[path](tally)
    return paths


async def _one_instance(bed: Bed, services: dict[str, RunningService], runs: int, warmup: int) -> Paths:
    """get_instance_metadata on each service, each after its DCMTK baseline."""
    keys, dest, pacs = bed.data.ct, bed.destination, bed.pacs
    directory = bed.workdir / "receiver-getscu"

    def check(result: dict[str, Any]) -> str | None:
        return None if result.get("sop_instance_uid") == keys.sop else "another instance's header"

    def movescu() -> float:
        seconds = dcmtk.movescu(pacs, keys.study, keys.series, dest.ae_title, keys.sop)
        if (got := dest.received()) != [keys.sop]:
            raise RuntimeError(f"movescu: storescp received {len(got)} files, not the one instance")
        return seconds

    def getscu() -> float:
        seconds = dcmtk.getscu(pacs, keys, directory)
        if (got := _files(directory)) != [keys.sop]:
            raise RuntimeError(f"getscu wrote {len(got)} files, not the one instance")
        return seconds

    arguments = {
        "sop_instance_uid": keys.sop,
        "series_instance_uid": keys.series,
        "study_instance_uid": keys.study,
    }
    call = Call("get_instance_metadata", arguments, check)
    try:
        async with AsyncExitStack() as stack:
            ours: dict[str, Ours] = {}
            for path, service in services.items():
                client = await stack.enter_async_context(mcp_client(service.mcp_url, "modern"))
                ours[path] = partial(timed_call, client, call)
            return await _rounds(
                {"move": movescu, "get": getscu}, ours, partial(_cleared, bed, directory), runs, warmup
            )
    finally:
        _cleared(bed, directory)
        shutil.rmtree(directory, ignore_errors=True)


def _cleared(bed: Bed, directory: Path) -> None:
    """No file left in storescp's directory, nor in `directory` (getscu's)."""
    bed.destination.clear()
    directory.mkdir(parents=True, exist_ok=True)
    for path in directory.iterdir():
        path.unlink()


async def _series(bed: Bed, runs: int, warmup: int) -> tuple[Paths, dict[str, int]]:
    """The series by the in-process client (C-MOVE to its receiver, C-GET), each after its DCMTK baseline.

    Also returns what the receiver refused, by reason.
    """
    pacs, directory = bed.pacs, bed.workdir / "receiver-getscu-series"
    receiving = Receiver(
        CLIENT_AET, "127.0.0.1", _port(bed, CLIENT_AET), addresses_of({pacs.host}), BIG_BUDGET
    )
    sop_class = str(dcmread(_series_files(bed)[0], stop_before_pixels=True).SOPClassUID)
    targets = {path: Target(pacs.host, pacs.port, pacs.ae_title, retrieve=path) for path in ("move", "get")}
    receiving.start()
    client = DicomClient(ClientConfig(CLIENT_AET), receiver=receiving)
    try:
        ours: dict[str, Ours] = {
            path: partial(_fetch, bed, client, target, sop_class) for path, target in targets.items()
        }
        cleared = partial(_cleared, bed, directory)
        paths = await _rounds(_series_baselines(bed, directory), ours, cleared, runs, warmup)
        return paths, receiving.refusals
    finally:
        receiving.stop()
        await anyio.to_thread.run_sync(client.close)
        _cleared(bed, directory)
        shutil.rmtree(directory, ignore_errors=True)


def _series_baselines(bed: Bed, directory: Path) -> dict[str, Callable[[], float]]:
    """movescu of the series to storescp, and getscu of it into `directory`, each checked UID by UID."""
    data, pacs = bed.data, bed.pacs

    def check(uids: list[str], who: str) -> None:
        if len(uids) != BIG_SERIES_SIZE or set(uids) != data.big_sop_uids:
            found = len(set(uids) & data.big_sop_uids)
            raise RuntimeError(f"{who}: {len(uids)} instances ({found} of the series)")

    def movescu() -> float:
        seconds = dcmtk.movescu(pacs, data.big_study_uid, data.big_series_uid, bed.destination.ae_title)
        check(bed.destination.received(), "movescu + storescp")
        return seconds

    def getscu() -> float:
        seconds = dcmtk.getscu_series(pacs, data.big_study_uid, data.big_series_uid, directory)
        check(_files(directory), "getscu")
        return seconds

    return {"move": movescu, "get": getscu}


async def _fetch(bed: Bed, client: DicomClient, target: Target, sop_class: str, tally: Tally) -> None:
    """One retrieval of the series, timed; a failure or a wrong answer is counted, not fatal."""
    data = bed.data
    keys = Keys(data.big_study_uid, data.big_series_uid)
    started = time.perf_counter()
    try:
        instances = await client.get(target, keys, [sop_class], Budget(BIG_BUDGET))
    except Exception as exc:
        tally.latencies.append(time.perf_counter() - started)
        tally.note(f"{type(exc).__name__}: {exc}", failed=True)
        return
    tally.latencies.append(time.perf_counter() - started)
    # Each instance's SOP Instance UID is the series UID + ".n": find it in the instance's bytes.
    pattern = re.compile(re.escape(data.big_series_uid.encode()) + rb"\.(\d+)")
    found = {f"{data.big_series_uid}.{int(m[1])}" for i in instances if (m := pattern.search(i.data))}
    if len(instances) != BIG_SERIES_SIZE or found != data.big_sop_uids:
        tally.note(
            f"{len(instances)} instances ({len(found & data.big_sop_uids)} of the series)", failed=False
        )


def _pairs(rows: list[Row], what: str, paths: Paths, goal: float) -> None:
    """The C-MOVE path against movescu + storescp (the target), the C-GET path against getscu (info)."""
    for path, baseline, target in (
        ("move", "movescu + storescp", f"<= {goal:g}x"),
        ("get", "getscu", "(info)"),
    ):
        base, tally = paths[path]
        p50, p50_base = percentile(tally.latencies, 0.5), percentile(base, 0.5)
        holds = p50 <= goal * p50_base if path == "move" else None
        label = f"{what}, by C-{path.upper()}"
        rows.append(Row(label, ms(p50), f"{baseline}: {ms(p50_base)}", p50 / p50_base, target, holds))
        rows.append(verdict_row(label, tally))
