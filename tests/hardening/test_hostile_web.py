"""A hostile DICOMweb archive, through the real service over HTTP: bombs, deep JSON, mixed-up reports.

Each heavy probe starts its own service (so its peak RSS, VmHWM, is the probe's) and watches it
while the call runs: the main process's peak RSS, the summed RSS of its child processes (where
the service parses untrusted bodies), and the wait of a no-PACS call (list_dicom_nodes, on a
second client) made every TICK seconds, which shows whether the event loop stalled. Past
SAFETY_RSS, or when the call gave no answer within its bound, the probe kills the service (and
its children) rather than leave it growing, and says so in the failure.

The ceilings are generous for a loaded 2-core CI machine; nothing else here is timed.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import anyio
import pytest
from mcp import Client
from mcp_types import CallToolResult

from testbeds.clients import call_error, call_ok, mcp_client
from testbeds.hostile_web import (
    CANARY_NAME,
    CANARY_TEXT,
    OTHER_SERIES_UID,
    OTHER_SOP_UID,
    OTHER_STUDY_UID,
    RAW_DATA,
    RIGHT_TEXT,
    SERIES_UID,
    SOP_UID,
    STUDY_UID,
    HostileWeb,
    empty_parts,
    gzip_bomb,
    inflation_bomb,
    located,
    multipart,
    nested_json,
    qido_body,
    run_hostile_web,
    sr_instance,
)
from testbeds.net import free_port
from testbeds.service import RunningService, run_service, service_env

pytestmark = pytest.mark.anyio
logger = logging.getLogger(__name__)

MiB: Final = 2**20
MAIN_PEAK_RSS: Final = 700 * MiB
CHILDREN_RSS: Final = 2048 * MiB
LONGEST_STALL: Final = 1.5
TICK: Final = 0.25  # seconds between the no-PACS calls
SAMPLE: Final = 0.05  # seconds between RSS samples
SAFETY_RSS: Final = 4096 * MiB
BYSTANDER_GRACE: Final = 10.0  # seconds a no-PACS call still waiting at the end may take to answer
PARSE_TIMEOUT: Final = "5"


@pytest.fixture(scope="module")
def web() -> Iterator[HostileWeb]:
    with run_hostile_web() as running:
        yield running


@contextmanager
def hostile_service(workdir: Path, web: HostileWeb, *routes: str) -> Iterator[RunningService]:
    """The service, with a DICOMweb node per route of `web` (named as the route); no reachable PACS."""
    nodes = workdir / "nodes.toml"
    nodes.write_text(
        "".join(f'[nodes.{name}]\nprotocol = "dicomweb"\nurl = "{web.url(name)}"\n\n' for name in routes),
        encoding="utf-8",
    )
    dead = {"DICOM_HOST": "127.0.0.1", "DICOM_PORT": str(free_port()), "DICOM_CALLED_AE_TITLE": "NOWHERE"}
    env = service_env(dead, nodes_file=str(nodes), parse_timeout=PARSE_TIMEOUT)
    with run_service(workdir, env) as service:
        yield service


# --- watching a call ------------------------------------------------------------------------------


def _status(pid: int) -> dict[str, str]:
    """/proc/<pid>/status as a mapping; empty once the process is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    fields = (line.partition(":\t") for line in text.splitlines())
    return {name: value for name, sep, value in fields if sep}


def _kib(value: str | None) -> int:
    return int(value.split()[0]) * 1024 if value else 0


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (children, their children, ...)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            ppid = _status(int(entry)).get("PPid")
            if ppid:
                parents.setdefault(int(ppid), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        below = parents.get(todo.pop(), [])
        found += below
        todo += below
    return found


@dataclass
class Probe:
    """What one watched call did."""

    result: CallToolResult | None = None
    failure: str | None = None  # why there is no result
    seconds: float = 0.0
    peak_rss: int = 0  # the main process's VmHWM
    children_rss: int = 0  # the largest sum of the children's VmRSS seen
    stalls: list[float] = field(default_factory=list)  # each no-PACS call's wait
    bystander_errors: int = 0

    @property
    def longest_stall(self) -> float:
        return max(self.stalls, default=0.0)

    @property
    def text(self) -> str:
        """The result's text and structured content, as one string."""
        if self.result is None:
            return ""
        blocks = " ".join(getattr(block, "text", "") for block in self.result.content)
        structured = self.result.structured_content
        return blocks if structured is None else f"{blocks} {json.dumps(structured)}"

    def error(self) -> str:
        assert self.result is not None, f"no answer: {self}"
        assert self.result.is_error, f"the call succeeded: {self}"
        return self.text

    def __str__(self) -> str:
        return (
            f"{self.seconds:.1f} s, peak RSS {self.peak_rss / MiB:.0f} MiB, children "
            f"{self.children_rss / MiB:.0f} MiB, longest stall {self.longest_stall:.2f} s over "
            f"{len(self.stalls)} calls ({self.bystander_errors} failed), failure: {self.failure}, "
            f"text: {self.text[:300]!r}"
        )


class Watch:
    """Samples a service's memory, and its answers to a bystander, while a call runs."""

    def __init__(self, service: RunningService, probe: Probe) -> None:
        self._pid, self._probe = service.process.pid, probe
        self._children: set[int] = set()
        self.call = anyio.CancelScope()
        self.done, self.quiet = anyio.Event(), anyio.Event()
        self.killed = False

    async def memory(self) -> None:
        """Sample until cancelled, killing the service past SAFETY_RSS (even after the call)."""
        while True:
            status = _status(self._pid)
            self._probe.peak_rss = max(self._probe.peak_rss, _kib(status.get("VmHWM")))
            children = descendants(self._pid)
            self._children.update(children)
            total = sum(_kib(_status(child).get("VmRSS")) for child in children)
            self._probe.children_rss = max(self._probe.children_rss, total)
            if self._probe.peak_rss > SAFETY_RSS or total > SAFETY_RSS:
                self.kill(f"the service passed {SAFETY_RSS // MiB} MiB of RSS and was killed")
            await anyio.sleep(SAMPLE)

    async def bystander(self, client: Client) -> None:
        """Call list_dicom_nodes every TICK seconds until `done`; a call cut short counts as waited."""
        try:
            while not self.done.is_set():
                started = time.monotonic()
                try:
                    result = await client.call_tool("list_dicom_nodes", {})
                    self._probe.bystander_errors += result.is_error
                except Exception:  # the service was killed, or dropped the connection
                    self._probe.bystander_errors += 1
                finally:
                    self._probe.stalls.append(time.monotonic() - started)
                with anyio.move_on_after(TICK - (time.monotonic() - started)):
                    await self.done.wait()
        finally:
            self.quiet.set()

    def kill(self, reason: str) -> None:
        """SIGKILL the service and every child seen (once), and stop waiting for the call."""
        if self.killed:
            return
        self.killed = True
        self._probe.failure = f"{self._probe.failure}; {reason}" if self._probe.failure else reason
        for pid in (self._pid, *self._children):
            with suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        self.call.cancel()


async def probe(service: RunningService, node: str, bound: float, tool: str, **arguments: Any) -> Probe:
    """Call `tool` on `node`, watched, giving up after `bound` seconds (and killing the service then)."""
    watched = Probe()
    watch = Watch(service, watched)
    try:
        async with (
            mcp_client(service.mcp_url, "modern") as client,
            mcp_client(service.mcp_url, "modern") as bystander,
        ):
            session = (await call_ok(client, "configure_dicom_server", node=node))["session"]
            await call_ok(bystander, "list_dicom_nodes")
            async with anyio.create_task_group() as watchers:
                watchers.start_soon(watch.memory)
                watchers.start_soon(watch.bystander, bystander)
                with watch.call:
                    await _call(client, watched, bound, tool, {**arguments, "session": session})
                watch.done.set()
                with anyio.move_on_after(BYSTANDER_GRACE):
                    await watch.quiet.wait()
                watchers.cancel_scope.cancel()
            watched.peak_rss = max(watched.peak_rss, _kib(_status(service.process.pid).get("VmHWM")))
    except Exception:  # closing clients of a service killed here may fail; what happened is in `watched`
        if watched.failure is None:
            raise
    finally:
        if watched.result is None:  # a service still at work on a bomb is not left to grow
            watch.kill("killed after the probe")
    logger.info("%s: %s", tool, watched)
    return watched


async def _call(client: Client, watched: Probe, bound: float, tool: str, arguments: dict[str, Any]) -> None:
    started = time.monotonic()
    try:
        with anyio.move_on_after(bound) as waiting:
            watched.result = await client.call_tool(tool, arguments)
        if waiting.cancelled_caught:
            watched.failure = f"no answer within {bound:g} s"
    except Exception as exc:  # the connection dropped: the service died, or was killed here
        watched.failure = watched.failure or f"the call failed: {type(exc).__name__}"
    finally:
        watched.seconds = time.monotonic() - started


def assert_contained(watched: Probe, bound: float) -> None:
    """The call answered within `bound`, in bounded memory, without stalling other callers."""
    assert watched.result is not None and watched.seconds < bound, str(watched)
    assert watched.peak_rss < MAIN_PEAK_RSS, str(watched)
    assert watched.children_rss < CHILDREN_RSS, str(watched)
    assert watched.longest_stall < LONGEST_STALL and watched.bystander_errors == 0, str(watched)


def retrievals(web: HostileWeb, route: str) -> int:
    """WADO-RS requests for SOP_UID on `route`."""
    return sum(
        count for path, count in web.hits.items() if path.startswith(route + "/") and path.endswith(SOP_UID)
    )


def assert_clear(message: str) -> None:
    assert "internal error" not in message, message


# --- 1. an inflation bomb over WADO-RS ------------------------------------------------------------


async def test_an_instance_that_inflates_to_a_gibibyte_is_refused_at_the_cap(
    web: HostileWeb, tmp_path: Path
) -> None:
    web.serve("inflate", qido=located(RAW_DATA, "OT"), wado=multipart([inflation_bomb()]))
    with hostile_service(tmp_path, web, "inflate") as service:
        watched = await probe(service, "inflate", 30, "get_instance_metadata", sop_instance_uid=SOP_UID)
    assert_contained(watched, 30)
    assert "passed the cap of" in watched.error(), str(watched)
    assert retrievals(web, "inflate") == 1, "the bomb was asked for again"


# --- 3. a gzip bomb over QIDO-RS ------------------------------------------------------------------


async def test_a_gzip_bomb_answering_a_search_is_refused_within_the_limits_cap(
    web: HostileWeb, tmp_path: Path
) -> None:
    web.serve("gzip-bomb", qido=qido_body(gzip_bomb(), gzipped=True))
    with hostile_service(tmp_path, web, "gzip-bomb") as service:
        watched = await probe(service, "gzip-bomb", 10, "query_studies", limit=10)
    assert_contained(watched, 10)
    assert "QIDO-RS" in watched.error(), str(watched)
    assert web.requests_to("gzip-bomb") == 1, "the bomb was asked for again"


# --- lows: a million empty parts, JSON nested 200,000 deep -----------------------------------------


async def test_a_million_empty_parts_are_a_clear_error_soon(web: HostileWeb, tmp_path: Path) -> None:
    web.serve("empty-parts", qido=located(), wado=empty_parts())
    with hostile_service(tmp_path, web, "empty-parts") as service:
        watched = await probe(service, "empty-parts", 30, "get_instance_metadata", sop_instance_uid=SOP_UID)
    assert_contained(watched, 30)
    assert_clear(watched.error())


async def test_json_nested_two_hundred_thousand_deep_is_a_clear_error(
    web: HostileWeb, tmp_path: Path
) -> None:
    web.serve("nested", qido=qido_body(nested_json()))
    with hostile_service(tmp_path, web, "nested") as service:
        watched = await probe(service, "nested", 30, "query_studies", limit=10)
    assert_contained(watched, 30)
    message = watched.error()
    assert_clear(message)
    assert "QIDO-RS" in message or "DICOM JSON" in message, str(watched)


# --- 8. another patient's instance in a WADO-RS answer ---------------------------------------------

RIGHT_SR: Final = sr_instance(STUDY_UID, SERIES_UID, SOP_UID, RIGHT_TEXT, "Right^Patient")
OTHER_SR: Final = sr_instance(OTHER_STUDY_UID, OTHER_SERIES_UID, OTHER_SOP_UID, CANARY_TEXT, CANARY_NAME)
# The asked-for SOP Instance UID, in another patient's study.
MISFILED_SR: Final = sr_instance(OTHER_STUDY_UID, OTHER_SERIES_UID, SOP_UID, CANARY_TEXT, CANARY_NAME)


@pytest.fixture(scope="module")
def mixed_service(web: HostileWeb, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    """One service for the light cases, a node per WADO-RS answer."""
    web.serve("other-first", qido=located(), wado=multipart([OTHER_SR, RIGHT_SR]))
    web.serve("only-other", qido=located(), wado=multipart([OTHER_SR]))
    web.serve("misfiled", qido=located(), wado=multipart([MISFILED_SR]))
    workdir = tmp_path_factory.mktemp("hostile-web")
    with hostile_service(workdir, web, "other-first", "only-other", "misfiled") as service:
        yield service


async def on_node(service: RunningService, node: str, tool: str, **arguments: Any) -> CallToolResult:
    async with mcp_client(service.mcp_url, "modern") as client:
        session = (await call_ok(client, "configure_dicom_server", node=node))["session"]
        return await client.call_tool(tool, {**arguments, "session": session})


def canary_free(result: CallToolResult) -> str:
    """The result's text and structured content, checked to hold nothing of the other patient."""
    text = " ".join(getattr(block, "text", "") for block in result.content)
    text += json.dumps(result.structured_content)
    assert CANARY_TEXT not in text and "canary" not in text.lower(), "another patient's data in the result"
    return text


async def test_a_report_comes_from_the_asked_instance_not_the_first_part(
    mixed_service: RunningService,
) -> None:
    result = await on_node(mixed_service, "other-first", "read_report", study_instance_uid=STUDY_UID)
    canary_free(result)
    assert not result.is_error and result.structured_content is not None, result.content
    reports = result.structured_content["reports"]
    assert [(r["sop_instance_uid"], RIGHT_TEXT in r["text"]) for r in reports] == [(SOP_UID, True)]


async def test_a_report_answered_only_by_another_patients_instance_is_never_read(
    mixed_service: RunningService,
) -> None:
    result = await on_node(mixed_service, "only-other", "read_report", study_instance_uid=STUDY_UID)
    canary_free(result)
    assert not result.is_error and result.structured_content is not None, result.content
    assert all(r["kind"] == "unreadable" for r in result.structured_content["reports"])


async def test_the_header_is_the_asked_instances_when_another_comes_first(
    mixed_service: RunningService,
) -> None:
    result = await on_node(mixed_service, "other-first", "get_instance_metadata", sop_instance_uid=SOP_UID)
    canary_free(result)
    assert not result.is_error and result.structured_content is not None, result.content
    header = result.structured_content
    assert header["sop_instance_uid"] == SOP_UID
    assert header["attributes"]["StudyInstanceUID"] == STUDY_UID


async def test_an_instance_from_another_study_than_located_is_refused(
    mixed_service: RunningService,
) -> None:
    async with mcp_client(mixed_service.mcp_url, "modern") as client:
        session = (await call_ok(client, "configure_dicom_server", node="misfiled"))["session"]
        message = await call_error(client, "get_instance_metadata", sop_instance_uid=SOP_UID, session=session)
    assert "does not belong" in message, message
    assert "canary" not in message.lower()


# --- the test bed's own claims --------------------------------------------------------------------


def inflated_size(compressed: bytes, wbits: int) -> int:
    """How many bytes `compressed` inflates to, counted a chunk at a time."""
    inflater, size, pending = zlib.decompressobj(wbits), 0, compressed
    while pending:
        size += len(inflater.decompress(pending, MiB))
        pending = inflater.unconsumed_tail
    return size + len(inflater.flush())


def test_the_bombs_are_small_and_inflate_to_what_they_say() -> None:
    gzipped = gzip_bomb()
    bomb = inflation_bomb()
    dataset_start = 132 + 12 + int.from_bytes(bomb[140:144], "little")  # after the meta group
    assert len(gzipped) < 300_000 and inflated_size(gzipped, 31) >= 250 * MiB - MiB
    assert len(bomb) < 2 * MiB and inflated_size(bomb[dataset_start:], -15) > 1024 * MiB
