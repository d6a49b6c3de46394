"""A bounded dictionary whose entries expire after a sliding TTL: the memory stores' one engine.

Entries are kept oldest-first (by last use), so that expired ones are dropped from the front and,
when full, the least recently used one goes.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Expiring(Generic[K, V]):
    """At most `max_entries` values, each living `ttl` seconds after it was last put or got."""

    def __init__(self, ttl: float, max_entries: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._clock = clock
        self._entries: OrderedDict[K, tuple[V, float]] = OrderedDict()

    def put(self, key: K, value: V) -> None:
        """Keep `value` under `key` with a fresh TTL, evicting the least recently used when full."""
        self.purge()
        self._entries[key] = (value, self._clock() + self._ttl)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def get(self, key: K) -> V | None:
        """The live value under `key`, its TTL refreshed; None if absent or expired."""
        item = self._entries.get(key)
        if item is None:
            return None
        value, expires = item
        now = self._clock()
        if expires <= now:
            del self._entries[key]
            return None
        self._entries[key] = (value, now + self._ttl)
        self._entries.move_to_end(key)
        return value

    def pop(self, key: K) -> None:
        self._entries.pop(key, None)

    def live(self) -> int:
        """How many live entries there are."""
        self.purge()
        return len(self._entries)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        """How many entries are held, expired ones not yet purged included."""
        return len(self._entries)

    def purge(self) -> None:
        """Drop expired entries; oldest-first order makes this stop at the first live one."""
        now = self._clock()
        while self._entries:
            key, (_, expires) = next(iter(self._entries.items()))
            if expires > now:
                break
            del self._entries[key]
