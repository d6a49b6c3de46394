"""The service's side of the sandbox: worker processes, one job each at a time, under a deadline.

Workers start when first needed and are kept for the next job; one that passed its deadline,
ran out of memory, died or was left mid-job by a cancelled call is killed and replaced. Waiting
for a free worker counts against the same deadline, so a flood of heavy reads fails as "busy"
instead of queueing without end.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any, Final

import anyio
import anyio.abc
from anyio.streams.buffered import BufferedByteReceiveStream

from dicom_mcp.errors import (
    NothingFound,
    NotRenderable,
    ReadStopped,
    ReportUnreadable,
    ServiceBusy,
    Withheld,
    WrongInstance,
)
from dicom_mcp.model.instances import Instance
from dicom_mcp.privacy.disclosure import active
from dicom_mcp.sandbox import frames

logger = logging.getLogger(__name__)
START_TIMEOUT: Final = 60.0  # seconds for a new worker to import its libraries and say it is ready
_THREADS_OFF: Final = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@dataclass(frozen=True)
class SandboxConfig:
    workers: int = 2
    timeout: float = 10.0  # seconds per job (DICOM_MCP_PARSE_TIMEOUT)
    max_memory: int = 2 * 1024**3  # address space per worker, bytes (DICOM_MCP_PARSE_MAX_MEMORY)


@dataclass(frozen=True)
class Expected:
    """The instance a job wants, and where it was located (checked against what the PACS sent)."""

    sop: str
    study: str | None = None
    series: str | None = None


@dataclass(frozen=True)
class Made:
    """A job's result: JSON, and bytes for a picture."""

    result: dict[str, Any]
    payload: bytes = b""


class _Worker:
    def __init__(self, process: anyio.abc.Process) -> None:
        self.process = process
        assert process.stdout is not None and process.stdin is not None
        self.reader = BufferedByteReceiveStream(process.stdout)
        self.writer = process.stdin

    async def receive(self) -> tuple[dict[str, Any], bytes]:
        prefix = await self.reader.receive_exactly(frames.PREFIX_SIZE)
        header_size, payload_size = frames.split_prefix(prefix)
        header = frames.decode_header(await self.reader.receive_exactly(header_size))
        payload = await self.reader.receive_exactly(payload_size) if payload_size else b""
        return header, payload

    async def send(self, header: dict[str, Any], payload: bytes) -> None:
        await self.writer.send(frames.encode(header, payload))
        if payload:
            await self.writer.send(payload)

    async def kill(self) -> None:
        with anyio.CancelScope(shield=True):
            if self.process.returncode is None:
                self.process.kill()
            await self.process.wait()
            await self.process.aclose()


class Sandbox:
    """Run reading jobs in worker processes (see the package docstring)."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self._limiter = anyio.CapacityLimiter(config.workers)
        self._idle: list[_Worker] = []

    async def header(self, instances: list[Instance], expected: Expected) -> dict[str, Any]:
        """The header of the expected instance (`reading.header`)."""
        return (await self._run("header", instances, expected, {})).result["header"]  # type: ignore[no-any-return]

    async def report(self, instances: list[Instance], expected: Expected, max_chars: int) -> dict[str, Any]:
        """The expected instance as a report (`reading.report`)."""
        options: dict[str, Any] = {"max_chars": max_chars}
        if (disclosure := active()) is not None:
            options["redact"] = disclosure.text
            disclosure.redacted = True
        made = await self._run("report", instances, expected, options)
        return made.result["report"]  # type: ignore[no-any-return]

    async def render(self, instances: list[Instance], expected: Expected, **options: Any) -> Made:
        """One frame as a PNG (`reading.image.render`): `result["summary"]` and the PNG's bytes."""
        return await self._run("render", instances, expected, options)

    async def picture(self, instances: list[Instance], expected: Expected, **options: Any) -> Made:
        """A viewer picture (`viewer.pictures.picture`): summary, `mime_type` and its bytes."""
        return await self._run("picture", instances, expected, options)

    async def aclose(self) -> None:
        """Stop every idle worker (at shutdown)."""
        idle, self._idle = self._idle, []
        for worker in idle:
            await worker.kill()

    async def _run(
        self, kind: str, instances: list[Instance], expected: Expected, options: dict[str, Any]
    ) -> Made:
        disclosure = active()
        if disclosure is not None:  # a pseudonymised caller: learn what the instance identifies
            options = {**options, "identify": True}
        made = await self._job(kind, instances, expected, options)
        if disclosure is not None:
            facts = made.result.pop("identity", None)
            if not isinstance(facts, dict):
                raise ReadStopped("the reading process did not say what the instance identifies")
            disclosure.note(facts)
            if kind in ("render", "picture"):  # a picture may be named by its instance or its series
                series = facts.get("SeriesInstanceUID") or expected.series
                disclosure.shown.update({expected.sop, str(series)} if series else {expected.sop})
        return made

    async def _job(
        self, kind: str, instances: list[Instance], expected: Expected, options: dict[str, Any]
    ) -> Made:
        timeout = self.config.timeout
        with anyio.move_on_after(timeout) as waiting:
            await self._limiter.acquire()
        if waiting.cancelled_caught:
            raise ServiceBusy(
                f"every reading process stayed busy for {timeout:g} s (DICOM_MCP_PARSE_WORKERS); try again shortly"
            )
        try:
            worker = self._idle.pop() if self._idle else await self._start()
            header = {
                "kind": kind,
                "expected": {"sop": expected.sop, "study": expected.study, "series": expected.series},
                "options": options,
                "blobs": [[len(instance.data), instance.syntax] for instance in instances],
                "held": {
                    str(index): [list(kept.frames), kept.total]
                    for index, instance in enumerate(instances)
                    if (kept := instance.frames_kept) is not None
                },
            }
            answer, payload = await self._exchange(worker, header, b"".join(i.data for i in instances))
        finally:
            self._limiter.release()
        if answer.get("ok"):
            return Made(dict(answer.get("result") or {}), payload)
        raise self._failure(str(answer.get("kind")), str(answer.get("message") or ""))

    async def _exchange(
        self, worker: _Worker, header: dict[str, Any], payload: bytes
    ) -> tuple[dict[str, Any], bytes]:
        """Send one job and wait for its answer; kill the worker unless it answered in time."""
        answered = False
        try:
            with anyio.fail_after(self.config.timeout):
                await worker.send(header, payload)
                answer = await worker.receive()
            answered = True
        except TimeoutError:
            raise ReadStopped(
                f"reading the instance took longer than {self.config.timeout:g} s (DICOM_MCP_PARSE_TIMEOUT); "
                "it was stopped"
            ) from None
        except (anyio.EndOfStream, anyio.IncompleteRead, anyio.BrokenResourceError, frames.FrameError):
            raise ReadStopped(
                "the reading process stopped before answering (it may have run out of memory: "
                "DICOM_MCP_PARSE_MAX_MEMORY)"
            ) from None
        finally:
            if answered and answer[0].get("kind") != "memory":
                self._idle.append(worker)
            else:
                await worker.kill()
        return answer

    def _failure(self, kind: str, message: str) -> Exception:
        if kind == "memory":
            return ReadStopped(
                f"reading the instance needed more memory than {self.config.max_memory} bytes "
                "(DICOM_MCP_PARSE_MAX_MEMORY); it was stopped"
            )
        if kind == "not_renderable":
            return NotRenderable(message)
        if kind == "withheld":
            return Withheld(message)
        if kind == "not_found":
            return NothingFound(message)
        if kind == "mismatch":
            return WrongInstance(message)
        return ReportUnreadable(message)

    async def _start(self) -> _Worker:
        env = {**os.environ, **_THREADS_OFF}
        process = await anyio.open_process(
            [sys.executable, "-m", "dicom_mcp.sandbox.worker", str(self.config.max_memory)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        worker = _Worker(process)
        try:
            with anyio.fail_after(START_TIMEOUT):
                ready, _ = await worker.receive()
            if not ready.get("ready"):
                raise frames.FrameError("the worker did not say it was ready")
        except BaseException as exc:
            await worker.kill()
            if isinstance(exc, Exception):
                logger.error("a reading process failed to start (%s)", type(exc).__name__)
                raise ReadStopped(
                    "a reading process could not be started; the operator can see the log"
                ) from None
            raise
        return worker
