"""The round-robin proxy: connections go to each upstream in turn, bytes pass unchanged both ways."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator

import pytest

from testbeds.faults import closed_port
from testbeds.roundrobin import round_robin

TIMEOUT = 10


class _Named(socketserver.BaseRequestHandler):
    """Says which upstream it is, then echoes everything until the peer's end of stream."""

    def handle(self) -> None:
        self.request.sendall(f"{self.request.getsockname()[1]}\n".encode())
        while data := self.request.recv(65536):
            self.request.sendall(data)
        self.request.sendall(b"bye")  # after the peer's half-close: the way back stays open


@pytest.fixture
def upstreams() -> Iterator[list[int]]:
    servers = [socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Named) for _ in range(3)]
    for server in servers:
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    yield [server.server_address[1] for server in servers]
    for server in servers:
        server.shutdown()
        server.server_close()


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)


def read_line(sock: socket.socket) -> str:
    line = b""
    while not line.endswith(b"\n"):
        chunk = sock.recv(1)
        assert chunk, f"the stream ended after {line!r}"
        line += chunk
    return line.decode().strip()


def read_all(sock: socket.socket) -> bytes:
    """Everything until the end of stream (a reset ends it too: a cut connection may send one)."""
    received = []
    try:
        while chunk := sock.recv(65536):
            received.append(chunk)
    except ConnectionResetError:
        pass
    return b"".join(received)


def test_each_new_connection_goes_to_the_next_upstream(upstreams: list[int]) -> None:
    with round_robin(upstreams) as proxy:
        reached = []
        for _ in range(7):
            with connect(proxy.port) as sock:
                reached.append(int(read_line(sock)))
    assert reached == [*upstreams, *upstreams, upstreams[0]]
    assert proxy.routed == reached


def test_connections_open_at_once_are_spread_too(upstreams: list[int]) -> None:
    with round_robin(upstreams[:2]) as proxy:
        socks = [connect(proxy.port) for _ in range(4)]
        try:
            reached = [int(read_line(sock)) for sock in socks]
        finally:
            for sock in socks:
                sock.close()
    assert reached == [*upstreams[:2], *upstreams[:2]]


def test_bytes_pass_unchanged_both_ways_and_a_half_close_is_passed_on(upstreams: list[int]) -> None:
    payload = bytes(range(256)) * 16384  # 4 MiB: many reads and writes, and back-pressure
    with round_robin(upstreams) as proxy, connect(proxy.port) as sock:
        assert int(read_line(sock)) == upstreams[0]

        def send_then_half_close() -> None:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)

        sender = threading.Thread(target=send_then_half_close)
        sender.start()
        # The upstream saw our end of stream and still answered after it: "bye", then its own end.
        assert read_all(sock) == payload + b"bye"
        sender.join()


def test_an_upstream_that_is_down_closes_that_connection_and_the_next_goes_on(upstreams: list[int]) -> None:
    down = closed_port()
    with round_robin([down, upstreams[0]]) as proxy:
        with connect(proxy.port) as sock:
            assert read_all(sock) == b""
        with connect(proxy.port) as sock:
            assert int(read_line(sock)) == upstreams[0]
    assert proxy.routed == [down, upstreams[0]]


def test_it_listens_on_loopback_only(upstreams: list[int]) -> None:
    with round_robin(upstreams) as proxy:
        assert proxy.host == "127.0.0.1"
        with socket.socket() as sock:
            sock.settimeout(TIMEOUT)
            # Any other local address of this machine is refused (127.0.0.2 is loopback, but not the bound one).
            assert sock.connect_ex(("127.0.0.2", proxy.port)) != 0


def test_stopping_it_cuts_open_connections(upstreams: list[int]) -> None:
    with round_robin(upstreams) as proxy:
        sock = connect(proxy.port)
        assert int(read_line(sock)) == upstreams[0]
    with sock:
        assert read_all(sock) == b""
        with pytest.raises(OSError):
            connect(proxy.port)


def test_a_proxy_needs_an_upstream() -> None:
    with pytest.raises(ValueError, match="at least one upstream"), round_robin([]):
        pass
