"""Stopping in-process servers at once, for fixtures that start them."""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Protocol


class Listening(Protocol):
    """A server that listens on host:port until `stop()` (the sample PACS, the sample archive)."""

    @property
    def host(self) -> str: ...

    @property
    def port(self) -> int: ...

    def stop(self) -> None: ...


def stop_promptly(server: Listening) -> None:
    """Stop `server` now, not at its accept loop's next half-second poll (as `testbeds.faults.stop_server`).

    `stop()` waits for that loop to read its shutdown flag, which it does when select() returns;
    a connection makes it return, and the loop then exits without accepting it.
    """
    stopper = threading.Thread(target=server.stop)
    stopper.start()
    while stopper.is_alive():
        with contextlib.suppress(OSError), socket.create_connection((server.host, server.port), timeout=1):
            pass
        stopper.join(0.01)
