"""A sliding window of events per key: how many happened within the last `seconds`.

Shared by the HTTP rate limit and the per-principal session limit. Keys that saw nothing for a
whole window are forgotten once there are many, so an unbounded number of callers costs memory
only while they are active. `Window` is the asynchronous contract those limits use, so that
replicas can count in Redis instead (`limits/windows.py`); `MemoryWindow` is this one behind it.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

_FORGET_ABOVE = 10_000


class SlidingWindow:
    """Admits at most `limit` events per key within any `seconds`."""

    def __init__(self, limit: int, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.seconds = seconds
        self._clock = clock
        self._events: dict[str, deque[float]] = {}

    def admit(self, key: str) -> float:
        """Record an event for `key` and return 0, or, when its window is full, the seconds until
        a slot frees (recording nothing)."""
        now = self._clock()
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - self.seconds:
            events.popleft()
        if len(events) >= self.limit:
            return events[0] + self.seconds - now
        events.append(now)
        if len(self._events) > _FORGET_ABOVE:
            self._events = {k: v for k, v in self._events.items() if v and v[-1] > now - self.seconds}
        return 0.0

    @staticmethod
    def whole_seconds(wait: float) -> int:
        """A wait as a Retry-After value: whole seconds, at least 1."""
        return max(1, math.ceil(wait))


class Window(Protocol):
    """At most `limit` events per key within any `seconds`."""

    limit: int
    seconds: float

    async def admit(self, key: str) -> float:
        """Record an event for `key` and return 0, or, when its window is full, the seconds until
        a slot frees (recording nothing).

        Raises:
            StoreError: a shared store failed (state/sessions/store.py).
        """


class MemoryWindow:
    """A `Window` counted in this process."""

    def __init__(self, limit: int, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.seconds = seconds
        self._window = SlidingWindow(limit, seconds, clock)

    async def admit(self, key: str) -> float:
        return self._window.admit(key)
