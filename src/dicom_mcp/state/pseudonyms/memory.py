"""The embedded reverse map: a bounded, expiring dictionary in this process."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from dicom_mcp.state.expiring import Expiring
from dicom_mcp.state.pseudonyms.store import MAX_TOKEN_LENGTH, Original


class MemoryTokenMap:
    """Tokens in memory: sliding TTL, and the least recently used entry evicted when full."""

    def __init__(self, ttl: float, max_entries: int, clock: Callable[[], float] = time.monotonic) -> None:
        # (principal, kind, token) -> original
        self._entries: Expiring[tuple[str, str, str], Original] = Expiring(ttl, max_entries, clock)

    async def remember(self, principal: str, entries: Mapping[tuple[str, str], Original]) -> None:
        for (kind, token), original in entries.items():
            self._entries.put((principal, kind, token), original)

    async def recall(self, principal: str, kind: str, token: str) -> Original | None:
        if len(token) > MAX_TOKEN_LENGTH:
            return None
        return self._entries.get((principal, kind, token))

    async def ping(self) -> None:
        return None

    async def aclose(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        """How many entries are held, expired ones not yet purged included."""
        return len(self._entries)
