"""A real `redis-server` test bed: a free loopback port, readiness by PING, stop and restart in place.

A missing `redis-server` binary is an error, never a skip: the Redis store is part of the product.
The pytest fixtures over it live in tests/fixtures.py.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from redis import Redis

from testbeds.net import free_port

LOOPBACK = "127.0.0.1"
BINARY = "redis-server"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
POLL_INTERVAL = 0.02


class RedisBedError(RuntimeError):
    """The Redis test bed could not start, answer or stop."""


def redis_binary() -> str:
    """The path of `redis-server`, or a loud failure naming the package to install."""
    found = shutil.which(BINARY) or shutil.which(f"/usr/bin/{BINARY}")
    if found is None:
        raise RedisBedError(
            f"{BINARY} not found: install the Debian package redis-server (scripts/test.sh does)"
        )
    return found


def answers_ping(port: int, host: str = LOOPBACK, timeout: float = 0.5) -> bool:
    """True if a Redis on host:port answers PING with PONG (not LOADING, not an error)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class RedisServer:
    """One `redis-server` process, on a port it keeps across stop() and start()."""

    workdir: Path
    port: int = field(default_factory=free_port)
    binary: str = field(default_factory=redis_binary)
    host: str = LOOPBACK
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"redis-{self.port}.log"

    def argv(self) -> list[str]:
        # No persistence: a restart starts empty, like a cache that lost its memory.
        return [
            self.binary,
            "--port", str(self.port),
            "--bind", self.host,
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.workdir),
        ]  # fmt: skip

    def start(self, timeout: float = START_TIMEOUT) -> float:
        """Start the server and poll PING until it answers; return the seconds that took."""
        if self.is_running():
            raise RedisBedError(f"redis-server on port {self.port} is already running")
        started = time.monotonic()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv(), cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        deadline = started + timeout
        while not answers_ping(self.port, self.host):
            if self.process.poll() is not None:
                raise RedisBedError(
                    f"redis-server exited with {self.process.returncode} on port {self.port}:\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise RedisBedError(
                    f"redis-server did not answer PING within {timeout:.0f}s:\n{self.log_tail()}"
                )
            time.sleep(POLL_INTERVAL)
        return time.monotonic() - started

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after a deadline) and wait until the port is closed."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.send_signal(signal.SIGCONT)  # a paused server acts on SIGTERM only once resumed
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT)

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections stay open and nothing answers, like a hung host."""
        assert self.process is not None, "redis-server is not running"
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Undo pause()."""
        assert self.process is not None, "redis-server is not running"
        self.process.send_signal(signal.SIGCONT)

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def client(self) -> Redis:
        """A synchronous client for inspecting the server from tests (use it in a `with`)."""
        return Redis(host=self.host, port=self.port, db=0, socket_timeout=5, socket_connect_timeout=5)

    def flushdb(self) -> None:
        with self.client() as client:
            client.flushdb()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError as exc:
            return f"<no log: {exc}>"


@contextmanager
def run_redis(workdir: Path) -> Iterator[RedisServer]:
    """A started RedisServer in `workdir`, stopped afterwards."""
    server = RedisServer(workdir)
    server.start()
    try:
        yield server
    finally:
        server.stop()
