"""The embedded reverse map: a bounded, expiring dictionary in this process."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping

from dicom_mcp.state.pseudonyms.store import MAX_TOKEN_LENGTH, Original

_Key = tuple[str, str, str]  # (principal, kind, token)


class MemoryTokenMap:
    """Tokens in memory: sliding TTL, and the least recently used entry evicted when full."""

    def __init__(self, ttl: float, max_entries: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._clock = clock
        self._entries: OrderedDict[_Key, tuple[Original, float]] = OrderedDict()

    async def remember(self, principal: str, entries: Mapping[tuple[str, str], Original]) -> None:
        self._purge()
        expires = self._clock() + self._ttl
        for (kind, token), original in entries.items():
            key = (principal, kind, token)
            self._entries[key] = (original, expires)
            self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    async def recall(self, principal: str, kind: str, token: str) -> Original | None:
        if len(token) > MAX_TOKEN_LENGTH:
            return None
        key = (principal, kind, token)
        item = self._entries.get(key)
        if item is None:
            return None
        original, expires = item
        now = self._clock()
        if expires <= now:
            del self._entries[key]
            return None
        self._entries[key] = (original, now + self._ttl)
        self._entries.move_to_end(key)
        return original

    async def ping(self) -> None:
        return None

    async def aclose(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        """How many entries are held, expired ones not yet purged included."""
        return len(self._entries)

    def _purge(self) -> None:
        """Drop expired entries; oldest-first order makes this stop at the first live one."""
        now = self._clock()
        while self._entries:
            key, (_, expires) = next(iter(self._entries.items()))
            if expires > now:
                break
            del self._entries[key]
