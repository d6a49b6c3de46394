"""The embedded session store: a bounded, expiring dictionary in this process."""

from __future__ import annotations

import time
from collections.abc import Callable

from dicom_mcp.state.expiring import Expiring
from dicom_mcp.state.sessions.store import SessionEntry


class MemoryStore:
    """Sessions in memory: sliding TTL, and the least recently used entry evicted when full."""

    def __init__(self, ttl: float, max_entries: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._entries: Expiring[str, SessionEntry] = Expiring(ttl, max_entries, clock)

    async def put(self, key: str, entry: SessionEntry) -> None:
        self._entries.put(key, entry)

    async def get(self, key: str) -> SessionEntry | None:
        return self._entries.get(key)

    async def delete(self, key: str) -> None:
        self._entries.pop(key)

    async def count(self) -> int:
        return self._entries.live()

    async def ping(self) -> None:
        return None

    async def aclose(self) -> None:
        self._entries.clear()
