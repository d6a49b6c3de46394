"""A round-robin TCP proxy on loopback: each new connection goes to the next of several ports.

A PACS knows one host and port per AE title, so the C-STOREs of a C-MOVE reach whichever
replica of the service sits behind that address, not necessarily the one that asked. With
`round_robin(ports)` in front of the replicas' receivers, consecutive associations land on
consecutive replicas, as behind a Kubernetes Service. Bytes pass unchanged both ways, a
half-close is passed on, and `routed` lists the upstream port each connection was sent to.
It runs an asyncio loop in a thread of the test process.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

LOOPBACK = "127.0.0.1"
CHUNK = 65536
STOP_TIMEOUT = 10.0


@dataclass
class RoundRobin:
    """A running proxy: connect to `host`:`port`; `routed` names each connection's upstream, in order."""

    host: str
    port: int
    upstreams: tuple[int, ...]
    routed: list[int] = field(default_factory=list)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy one direction until its end of stream, then half-close the other side."""
    while data := await reader.read(CHUNK):
        writer.write(data)
        await writer.drain()
    if writer.can_write_eof():
        writer.write_eof()


class _Proxy:
    def __init__(self, upstreams: Sequence[int], port: int) -> None:
        self.state = RoundRobin(LOOPBACK, port, tuple(upstreams))
        self._next = itertools.cycle(self.state.upstreams)
        self._writers: set[asyncio.StreamWriter] = set()
        self._relays: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> RoundRobin:
        self._server = await asyncio.start_server(self._relay, LOOPBACK, self.state.port)
        self.state.port = int(self._server.sockets[0].getsockname()[1])
        return self.state

    async def stop(self) -> None:
        """Stop listening, cut every open connection and wait until every relay has ended."""
        if self._server is None:
            return
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await asyncio.gather(*self._relays, return_exceptions=True)
        await self._server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None  # asyncio runs each connection's callback as a task
        self._relays.add(task)
        upstream = next(self._next)
        self.state.routed.append(upstream)
        ends = [writer]
        self._writers.add(writer)
        try:
            up_reader, up_writer = await asyncio.open_connection(LOOPBACK, upstream)
        except OSError:  # that replica is down: its peer sees the connection close, as it would
            writer.transport.abort()
        else:
            ends.append(up_writer)
            self._writers.add(up_writer)
            pipes = [
                asyncio.create_task(_pipe(reader, up_writer)),
                asyncio.create_task(_pipe(up_reader, writer)),
            ]
            await asyncio.wait(pipes, return_when=asyncio.FIRST_EXCEPTION)
            # A reset at either end cuts both at once; otherwise both ends said all they had, and
            # closing sends what is still buffered.
            if any(pipe.done() and pipe.exception() for pipe in pipes):
                for end in ends:
                    end.transport.abort()
                await asyncio.wait(pipes)
                for pipe in pipes:
                    pipe.exception()  # retrieved: asyncio would log it as never retrieved
            else:
                for end in ends:
                    end.close()
        finally:
            self._writers.difference_update(ends)
            self._relays.discard(task)


@contextmanager
def round_robin(upstreams: Sequence[int], port: int = 0) -> Iterator[RoundRobin]:
    """Listen on loopback `port` (0: a free one) and hand connections to `upstreams` in turn; stop after."""
    if not upstreams:
        raise ValueError("a round-robin proxy needs at least one upstream port")
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="round-robin", daemon=True)
    thread.start()
    proxy = _Proxy(upstreams, port)
    try:
        yield asyncio.run_coroutine_threadsafe(proxy.start(), loop).result(STOP_TIMEOUT)
    finally:
        asyncio.run_coroutine_threadsafe(proxy.stop(), loop).result(STOP_TIMEOUT)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(STOP_TIMEOUT)
        loop.close()
