"""A TCP relay that holds every byte for a fixed one-way delay: a PACS "across a network".

`relay(host, port, one_way_ms)` runs it in front of host:port for the length of a `with` block.
`python -m testbeds.netdelay LISTEN_PORT TARGET_HOST TARGET_PORT ONE_WAY_MS` listens on 127.0.0.1,
prints `ready` once it does, and relays each connection to the target, delivering every chunk
ONE_WAY_MS after it arrived, in order, in both directions. A DICOM exchange through it costs one
round trip (2 x ONE_WAY_MS) more, as it would with a PACS that far away. The TCP handshake itself
is not delayed. It runs in its own process so its CPU is not taken from the bench's clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import uvloop

from testbeds.net import free_port

REPO = Path(__file__).resolve().parents[1]

# Every task of every relayed connection, referenced until it ends.
_running: set[asyncio.Task[None]] = set()


async def _pump(
    reader: asyncio.StreamReader, queue: asyncio.Queue[tuple[float, bytes]], delay: float
) -> None:
    loop = asyncio.get_running_loop()
    try:
        while data := await reader.read(65536):
            queue.put_nowait((loop.time() + delay, data))
    except OSError:
        pass
    queue.put_nowait((loop.time() + delay, b""))  # end of stream, delivered in its turn


async def _deliver(writer: asyncio.StreamWriter, queue: asyncio.Queue[tuple[float, bytes]]) -> None:
    loop = asyncio.get_running_loop()
    try:
        while True:
            due, data = await queue.get()
            # uvloop's timers count whole milliseconds and may wake a fraction early: wait out the rest.
            while (wait := due - loop.time()) > 0:
                await asyncio.sleep(wait)
            if not data:  # pass the half-close on; the other direction may still be talking
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()
    except OSError:
        writer.close()


async def _relay(
    inbound: tuple[asyncio.StreamReader, asyncio.StreamWriter], host: str, port: int, delay: float
) -> None:
    reader, writer = inbound
    try:
        up_reader, up_writer = await asyncio.open_connection(host, port)
    except OSError:
        writer.close()
        return
    there: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
    back: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
    tasks = [
        asyncio.create_task(_pump(reader, there, delay)),
        asyncio.create_task(_deliver(up_writer, there)),
        asyncio.create_task(_pump(up_reader, back, delay)),
        asyncio.create_task(_deliver(writer, back)),
    ]
    _running.update(tasks)  # the event loop holds tasks only weakly
    try:
        await asyncio.gather(*tasks)
    finally:
        _running.difference_update(tasks)
        writer.close()
        up_writer.close()


async def serve(listen_port: int, host: str, port: int, one_way_ms: float) -> None:
    delay = one_way_ms / 1000

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        _running.add(task)  # likewise the task running this connection
        try:
            await _relay((reader, writer), host, port, delay)
        finally:
            _running.discard(task)

    server = await asyncio.start_server(handle, "127.0.0.1", listen_port, backlog=512)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


@contextlib.contextmanager
def relay(host: str, port: int, one_way_ms: float) -> Iterator[int]:
    """Run the relay in its own process in front of host:port; yields the port it listens on."""
    listen = free_port()
    argv = [sys.executable, "-m", "testbeds.netdelay", str(listen), host, str(port), str(one_way_ms)]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the delaying relay did not start (exit {process.wait()})")
        yield listen
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


def main(argv: list[str]) -> None:
    listen_port, host, port, one_way_ms = int(argv[0]), argv[1], int(argv[2]), float(argv[3])
    with contextlib.suppress(KeyboardInterrupt):
        uvloop.run(serve(listen_port, host, port, one_way_ms))


if __name__ == "__main__":
    main(sys.argv[1:])
