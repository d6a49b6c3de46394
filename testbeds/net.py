"""Ports and connections as the kernel sees them: free ports, and TCP sockets read from /proc.

Reading /proc/net/tcp{,6} counts connections without opening one, so the server being watched
sees no probe; the same tables, matched against a process's file descriptors, tell whose
connection is whose.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ESTABLISHED = "01"
LISTEN = "0A"
TABLES = ("/proc/net/tcp", "/proc/net/tcp6")


def free_port() -> int:
    """A TCP port that was free a moment ago on every interface (hence on loopback too).

    Every interface, because some servers (Orthanc, dcmqrscp) cannot bind to loopback only.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class TcpRow:
    """One row of /proc/net/tcp{,6}: the ports of both ends, the state (hex) and the socket inode."""

    local_port: int
    remote_port: int
    state: str
    inode: str


def tcp_rows() -> Iterator[TcpRow]:
    """Every TCP socket of this network namespace."""
    for table in TABLES:
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            yield TcpRow(
                int(cols[1].rsplit(":", 1)[1], 16), int(cols[2].rsplit(":", 1)[1], 16), cols[3], cols[9]
            )


def is_listening(port: int) -> bool:
    """True if some socket LISTENs on `port`."""
    return any(row.local_port == port and row.state == LISTEN for row in tcp_rows())


def count_established(port: int) -> int:
    """ESTABLISHED sockets whose local port is `port`: a server's end of each open connection."""
    return sum(row.local_port == port and row.state == ESTABLISHED for row in tcp_rows())


def socket_inodes(pid: int | str = "self") -> dict[str, int]:
    """The socket inodes a process holds, each with the file descriptor that holds it."""
    inodes = {}
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):  # descriptors come and go while we look
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes[target[8:-1]] = int(fd.name)
    return inodes


def connections_to(port: int, pid: int | str = "self") -> int:
    """ESTABLISHED connections from process `pid` to `port`: the client's end of each.

    Counted at the client's end because a server's end lingers a moment after a release, and
    only that process's sockets, so that nothing else on the machine is counted.
    """
    return len(connection_inodes_to(port, pid))


def connection_inodes_to(port: int, pid: int | str = "self") -> set[str]:
    """The socket inodes of `connections_to(port, pid)`, to follow connections from one look to the next."""
    inodes = socket_inodes(pid)
    return {
        row.inode
        for row in tcp_rows()
        if row.remote_port == port and row.state == ESTABLISHED and row.inode in inodes
    }


@contextmanager
def own_sockets_to(port: int) -> Iterator[list[socket.socket]]:
    """Duplicates of this process's ESTABLISHED sockets to `port`, to read their options; closed after."""
    inodes = socket_inodes()
    fds = [
        inodes[row.inode]
        for row in tcp_rows()
        if row.remote_port == port and row.state == ESTABLISHED and row.inode in inodes
    ]
    duplicates = []
    for fd in fds:
        with contextlib.suppress(OSError):  # closed since we looked: not a connection any more
            duplicates.append(socket.socket(fileno=os.dup(fd)))
    try:
        yield duplicates
    finally:
        for sock in duplicates:
            sock.close()


class AssociationSampler:
    """Samples `count()` in a thread (e.g. a PACS's open associations) and keeps the maximum."""

    def __init__(self, count: Callable[[], int], interval: float = 0.01) -> None:
        self.count, self.interval = count, interval
        self.maximum = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def __enter__(self) -> AssociationSampler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join()

    def run(self) -> None:
        while not self.stopping.is_set():
            self.maximum = max(self.maximum, self.count())
            self.stopping.wait(self.interval)


class StillOpen:
    """How many connections were open at this look and at the one before (10 ms apart).

    pynetdicom confirms a release to its caller before its DUL thread closes the socket, so a
    released association's connection can outlive its slot by a moment, and a look falling just
    then would count it next to the one that took the slot over. An association the service
    keeps (up to its 0.5 s lifetime) is open across many looks; a connection lingering after
    its release is not.
    """

    def __init__(self, look: Callable[[], set[str]]) -> None:
        self.look = look
        self.before: set[str] = set()

    def __call__(self) -> int:
        now = self.look()
        held, self.before = now & self.before, now
        return len(held)
