"""The delaying relay: every byte arrives, in order, both ways, no sooner than the delay."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Iterator

import pytest

from testbeds.netdelay import relay

ONE_WAY_MS = 25.0


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(data)


@pytest.fixture
def echo_port() -> Iterator[int]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    # A short poll: shutdown() below waits for the loop's next one.
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _receive(sock: socket.socket, size: int) -> bytes:
    received = b""
    while len(received) < size:
        chunk = sock.recv(65536)
        assert chunk, f"the relay closed the stream after {len(received)} of {size} bytes"
        received += chunk
    return received


def test_the_relay_delivers_every_byte_in_order_after_a_round_trip(echo_port: int) -> None:
    payload = bytes(range(256)) * 4096  # 1 MiB, many chunks
    with (
        relay("127.0.0.1", echo_port, ONE_WAY_MS) as port,
        socket.create_connection(("127.0.0.1", port)) as sock,
    ):
        sock.settimeout(10)
        started = time.monotonic()
        sock.sendall(b"ping")
        assert _receive(sock, 4) == b"ping"
        assert time.monotonic() - started >= 2 * ONE_WAY_MS / 1000
        sender = threading.Thread(target=sock.sendall, args=(payload,))
        sender.start()
        assert _receive(sock, len(payload)) == payload
        sender.join()


def test_closing_one_end_closes_the_other(echo_port: int) -> None:
    with (
        relay("127.0.0.1", echo_port, ONE_WAY_MS) as port,
        socket.create_connection(("127.0.0.1", port)) as sock,
    ):
        sock.settimeout(10)
        sock.sendall(b"last words")
        sock.shutdown(socket.SHUT_WR)
        assert _receive(sock, 10) == b"last words"
        assert sock.recv(1) == b""  # the echo server saw the end and closed; so does the relay


def test_a_target_that_refuses_closes_the_client() -> None:
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        dead = spare.getsockname()[1]
    with relay("127.0.0.1", dead, ONE_WAY_MS) as port, socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(10)
        assert sock.recv(1) == b""
