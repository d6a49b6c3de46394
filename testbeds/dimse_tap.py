"""A TCP relay in front of a PACS that counts the DIMSE requests it receives, by command.

`tap(port)` listens on loopback for the length of a `with` block and relays each connection to
the PACS at `port`, bytes unchanged both ways. It reads the caller's side as the PACS does
(PS3.8 9.3: PDUs, P-DATA-TF items, command fragments) and counts each request's Command Field
(PS3.7 E.1), so a test can say how many C-GETs or C-FINDs reached a real PACS, whatever the
client pools or reuses. It runs an asyncio loop in a thread of the test process.
"""

from __future__ import annotations

import asyncio
import struct
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

LOOPBACK = "127.0.0.1"
CHUNK = 65536
STOP_TIMEOUT = 10.0
A_ASSOCIATE_RQ, P_DATA_TF = 0x01, 0x04
COMMANDS = {
    0x0001: "C-STORE-RQ",
    0x0010: "C-GET-RQ",
    0x0020: "C-FIND-RQ",
    0x0021: "C-MOVE-RQ",
    0x0030: "C-ECHO-RQ",
    0x0FFF: "C-CANCEL-RQ",
}


@dataclass
class Tap:
    """A running tap: connect to `host`:`port`; `counts` holds requests by name, and "associations"."""

    host: str
    port: int
    counts: Counter[str] = field(default_factory=Counter)


class _Reader:
    """The caller's bytes, cut into PDUs; each command set's Command Field is counted."""

    def __init__(self, counts: Counter[str]) -> None:
        self._counts = counts
        self._buffer = bytearray()
        self._command = bytearray()

    def feed(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) >= 6:
            kind, length = self._buffer[0], struct.unpack(">I", self._buffer[2:6])[0]
            if len(self._buffer) < 6 + length:
                return
            body = bytes(self._buffer[6 : 6 + length])
            del self._buffer[: 6 + length]
            if kind == A_ASSOCIATE_RQ:
                self._counts["associations"] += 1
            elif kind == P_DATA_TF:
                self._items(body)

    def _items(self, body: bytes) -> None:
        at = 0
        while at + 6 <= len(body):
            size = struct.unpack(">I", body[at : at + 4])[0]
            control, fragment = body[at + 5], body[at + 6 : at + 4 + size]
            at += 4 + size
            if control & 0x01:  # a command fragment; bit 1 marks the last one
                self._command += fragment
                if control & 0x02:
                    self._count(bytes(self._command))
                    self._command.clear()

    def _count(self, command: bytes) -> None:
        """Find (0000,0100) in a command set (always Implicit VR Little Endian)."""
        at = 0
        while at + 8 <= len(command):
            group, element, size = struct.unpack("<HHI", command[at : at + 8])
            if (group, element) == (0x0000, 0x0100):
                value = struct.unpack("<H", command[at + 8 : at + 10])[0]
                self._counts[COMMANDS.get(value, f"0x{value:04X}")] += 1
                return
            at += 8 + size


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: _Reader | None) -> None:
    try:
        while data := await reader.read(CHUNK):
            if seen is not None:
                seen.feed(data)
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except OSError:
        writer.transport.abort()


class _Relay:
    def __init__(self, upstream: int) -> None:
        self.state = Tap(LOOPBACK, 0)
        self._upstream = upstream
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> Tap:
        self._server = await asyncio.start_server(self._relay, LOOPBACK, 0)
        self.state.port = int(self._server.sockets[0].getsockname()[1])
        return self.state

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None  # asyncio runs each connection's callback as a task
        self._tasks.add(task)
        ends = [writer]
        self._writers.add(writer)
        try:
            up_reader, up_writer = await asyncio.open_connection(LOOPBACK, self._upstream)
            ends.append(up_writer)
            self._writers.add(up_writer)
            await asyncio.gather(
                _pipe(reader, up_writer, _Reader(self.state.counts)), _pipe(up_reader, writer, None)
            )
        except OSError:
            pass
        finally:
            for end in ends:
                end.close()
            self._writers.difference_update(ends)
            self._tasks.discard(task)


@contextmanager
def tap(upstream: int) -> Iterator[Tap]:
    """Relay a free loopback port to the PACS on `upstream`, counting requests; stop after."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="dimse-tap", daemon=True)
    thread.start()
    relay = _Relay(upstream)
    try:
        yield asyncio.run_coroutine_threadsafe(relay.start(), loop).result(STOP_TIMEOUT)
    finally:
        asyncio.run_coroutine_threadsafe(relay.stop(), loop).result(STOP_TIMEOUT)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(STOP_TIMEOUT)
        loop.close()
