"""Readiness by polling, never by sleeping a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable

import anyio

INTERVAL = 0.01


def until(condition: Callable[[], bool], within: float = 5.0, what: str = "condition") -> None:
    """Poll `condition` until it holds; raise TimeoutError naming `what` if the deadline passes first."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {within:g} s")
        time.sleep(INTERVAL)


async def until_async(condition: Callable[[], bool], within: float = 5.0, what: str = "condition") -> None:
    """As `until`, without blocking the event loop."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {within:g} s")
        await anyio.sleep(INTERVAL)
