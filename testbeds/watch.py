"""Watching the real service while hostile calls run: its memory, its stalls, its time to answer.

A probe is handed a running service (testbeds.service), best one started for it alone so that the
main process's peak RSS is the probe's. It makes its calls on one MCP client and, while they run,

    every SAMPLE s   reads the main process's VmHWM (peak RSS since it started) and the summed
                     VmRSS of all its descendants (the sandbox workers that parse what a PACS sent)
    every TICK s     calls list_dicom_nodes, which asks no PACS, on a second client: the longest
                     wait shows whether the service's event loop stalled

`assert_contained` holds the result to the ceilings below. They are generous for a loaded 2-core
CI machine; nothing else here is timed.

To spare the machine, the probe SIGKILLs the service and every descendant it saw when either
passes SAFETY_RSS, or when the calls gave no answer within their bound, and says so in `failure`.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TypeAlias

import anyio
from mcp import Client
from mcp_types import CallToolResult

from testbeds.clients import call_ok, mcp_client
from testbeds.service import RunningService

logger = logging.getLogger(__name__)

MiB: Final = 2**20
MAIN_PEAK_RSS: Final = 700 * MiB  # the main process's VmHWM stays under this
CHILDREN_RSS: Final = 2048 * MiB  # the descendants' summed VmRSS stays under this, at every sample
LONGEST_STALL: Final = 1.5  # seconds the longest list_dicom_nodes may wait
BOUND: Final = 30.0  # seconds the calls may take, answers included, unless a test says otherwise
SAFETY_RSS: Final = 3072 * MiB  # past this, in the main process or the children summed, kill
TICK: Final = 0.25  # seconds between list_dicom_nodes calls
SAMPLE: Final = 0.05  # seconds between memory samples
BYSTANDER_GRACE: Final = 10.0  # seconds a list_dicom_nodes still waiting at the end may take

Call: TypeAlias = tuple[str, dict[str, Any]]  # a tool and its arguments


@dataclass
class Watched:
    """What watched calls did, and what the service did meanwhile."""

    results: list[CallToolResult] = field(default_factory=list)
    failure: str | None = None  # why a result is missing: no answer in the bound, a kill, a dropped call
    seconds: float = 0.0
    peak_rss: int = 0  # the main process's VmHWM
    children_rss: int = 0  # the largest sum of the descendants' VmRSS seen
    waits: list[float] = field(default_factory=list)  # each list_dicom_nodes call's wait
    bystander_errors: int = 0

    @property
    def result(self) -> CallToolResult:
        """The last call's result; every call must have answered."""
        assert self.results and self.failure is None, str(self)
        return self.results[-1]

    @property
    def longest_wait(self) -> float:
        return max(self.waits, default=0.0)

    def error(self) -> str:
        """The last call's error text; it must have been an error."""
        assert self.result.is_error, f"the call succeeded: {self}"
        return text_of(self.result)

    def measured(self) -> str:
        """The numbers alone: what the log gets (a result may quote an instance)."""
        return (
            f"{self.seconds:.1f} s, peak RSS {self.peak_rss / MiB:.0f} MiB, children "
            f"{self.children_rss / MiB:.0f} MiB, longest wait {self.longest_wait:.2f} s over "
            f"{len(self.waits)} calls ({self.bystander_errors} failed), failure: {self.failure}"
        )

    def __str__(self) -> str:
        last = text_of(self.results[-1])[:300] if self.results else ""
        return f"{self.measured()}, text: {last!r}"


def text_of(result: CallToolResult) -> str:
    """A result's text blocks and structured content, as one string."""
    blocks = " ".join(getattr(block, "text", "") for block in result.content)
    structured = result.structured_content
    return blocks if structured is None else f"{blocks} {json.dumps(structured)}"


def assert_contained(watched: Watched, bound: float = BOUND) -> None:
    """Every call answered within `bound`, in bounded memory, without stalling other callers."""
    assert watched.failure is None and watched.results and watched.seconds < bound, str(watched)
    assert watched.peak_rss < MAIN_PEAK_RSS, str(watched)
    assert watched.children_rss < CHILDREN_RSS, str(watched)
    assert watched.longest_wait < LONGEST_STALL and watched.bystander_errors == 0, str(watched)


async def probe(
    service: RunningService, tool: str, *, bound: float = BOUND, node: str | None = None, **arguments: Any
) -> Watched:
    """One watched call of `tool`; see `probe_calls`."""
    return await probe_calls(service, [(tool, arguments)], bound=bound, node=node)


async def probe_calls(
    service: RunningService, calls: Sequence[Call], *, bound: float = BOUND, node: str | None = None
) -> Watched:
    """Make `calls` one after the other, watched, giving up after `bound` seconds in all.

    With `node`, the calls run in a session configured for that node; else on the default PACS.
    A service that did not answer them all is killed here rather than left at work on a bomb.
    """
    watched = Watched()
    watch = _Watch(service.process.pid, watched)
    try:
        async with (
            mcp_client(service.mcp_url, "modern") as client,
            mcp_client(service.mcp_url, "modern") as bystander,
        ):
            calls = await _in_session(client, node, calls)
            await call_ok(bystander, "list_dicom_nodes")
            async with anyio.create_task_group() as watchers:
                watchers.start_soon(watch.memory)
                watchers.start_soon(watch.bystander, bystander)
                with watch.call:
                    await _calls(client, watched, bound, calls)
                watch.done.set()
                with anyio.move_on_after(BYSTANDER_GRACE):
                    await watch.quiet.wait()
                watchers.cancel_scope.cancel()
    except Exception:  # closing clients of a service killed here may fail; what happened is in `watched`
        if watched.failure is None:
            raise
    finally:
        if watched.failure is not None or len(watched.results) < len(calls):
            watch.kill("killed after the probe")
    watched.peak_rss = max(watched.peak_rss, _kib(_status(service.process.pid).get("VmHWM")))
    logger.info("%s: %s", calls[0][0], watched.measured())
    return watched


async def _in_session(client: Client, node: str | None, calls: Sequence[Call]) -> Sequence[Call]:
    """`calls` in a session configured for `node`; as they are for the default PACS (`node` None)."""
    if node is None:
        return calls
    session = (await call_ok(client, "configure_dicom_server", node=node))["session"]
    return [(tool, {**arguments, "session": session}) for tool, arguments in calls]


async def _calls(client: Client, watched: Watched, bound: float, calls: Sequence[Call]) -> None:
    started = time.monotonic()
    try:
        with anyio.move_on_after(bound) as waiting:
            for tool, arguments in calls:
                watched.results.append(await client.call_tool(tool, arguments))
        if waiting.cancelled_caught:
            watched.failure = f"no answer within {bound:g} s"
    except Exception as exc:  # the connection dropped: the service died, or was killed here
        watched.failure = watched.failure or f"the call failed: {type(exc).__name__}"
    finally:
        watched.seconds = time.monotonic() - started


class _Watch:
    """Samples a service's memory, and its answers to a bystander, while calls run."""

    def __init__(self, pid: int, watched: Watched) -> None:
        self._pid, self._watched = pid, watched
        self._children: set[int] = set()
        self._killed = False
        self.call = anyio.CancelScope()  # the calls, cancelled by a kill
        self.done = anyio.Event()  # the calls are over: the bystander stops
        self.quiet = anyio.Event()  # the bystander has stopped

    async def memory(self) -> None:
        """Sample until cancelled, past the calls too, killing the service past SAFETY_RSS."""
        while True:
            peak = _kib(_status(self._pid).get("VmHWM"))
            self._watched.peak_rss = max(self._watched.peak_rss, peak)
            children = await anyio.to_thread.run_sync(descendants, self._pid)  # reads all of /proc
            self._children.update(children)
            total = sum(_kib(_status(child).get("VmRSS")) for child in children)
            self._watched.children_rss = max(self._watched.children_rss, total)
            if max(peak, total) > SAFETY_RSS:
                self.kill(f"the service passed {SAFETY_RSS // MiB} MiB of RSS and was killed")
            await anyio.sleep(SAMPLE)

    async def bystander(self, client: Client) -> None:
        """Call list_dicom_nodes every TICK seconds until `done`; a call cut short counts what it waited."""
        try:
            while not self.done.is_set():
                started = time.monotonic()
                try:
                    result = await client.call_tool("list_dicom_nodes", {})
                    self._watched.bystander_errors += result.is_error
                except Exception:  # the service was killed, or dropped the connection
                    self._watched.bystander_errors += 1
                finally:
                    self._watched.waits.append(time.monotonic() - started)
                with anyio.move_on_after(TICK - (time.monotonic() - started)):
                    await self.done.wait()
        finally:
            self.quiet.set()

    def kill(self, reason: str) -> None:
        """SIGKILL the service and every descendant seen (once), and stop waiting for the calls."""
        if self._killed:
            return
        self._killed = True
        failure = self._watched.failure
        self._watched.failure = f"{failure}; {reason}" if failure else reason
        for pid in (self._pid, *self._children):
            with suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        self.call.cancel()


def descendants(pid: int) -> list[int]:
    """Every process below `pid`: children, their children, ... (read from each /proc/<pid>/status)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (ppid := _status(int(entry)).get("PPid")):
            parents.setdefault(int(ppid), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        below = parents.get(todo.pop(), [])
        found += below
        todo += below
    return found


def _status(pid: int) -> dict[str, str]:
    """/proc/<pid>/status as a mapping; empty once the process is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    fields = (line.partition(":\t") for line in text.splitlines())
    return {name: value for name, sep, value in fields if sep}


def _kib(value: str | None) -> int:
    """Bytes from a /proc status value such as `123456 kB`."""
    return int(value.split()[0]) * 1024 if value else 0
