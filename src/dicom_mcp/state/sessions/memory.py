"""The embedded session store: a bounded, expiring dictionary in this process."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from dicom_mcp.state.sessions.store import SessionEntry


class MemoryStore:
    """Sessions in memory: sliding TTL, and the least recently used entry evicted when full."""

    def __init__(self, ttl: float, max_entries: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[SessionEntry, float]] = OrderedDict()

    async def put(self, key: str, entry: SessionEntry) -> None:
        self._purge()
        self._entries[key] = (entry, self._clock() + self._ttl)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    async def get(self, key: str) -> SessionEntry | None:
        item = self._entries.get(key)
        if item is None:
            return None
        entry, expires = item
        now = self._clock()
        if expires <= now:
            del self._entries[key]
            return None
        self._entries[key] = (entry, now + self._ttl)
        self._entries.move_to_end(key)
        return entry

    async def delete(self, key: str) -> None:
        self._entries.pop(key, None)

    async def count(self) -> int:
        self._purge()
        return len(self._entries)

    async def ping(self) -> None:
        return None

    async def aclose(self) -> None:
        self._entries.clear()

    def _purge(self) -> None:
        """Drop expired entries; oldest-first order makes this stop at the first live one."""
        now = self._clock()
        while self._entries:
            key, (_, expires) = next(iter(self._entries.items()))
            if expires > now:
                break
            del self._entries[key]
