"""Slots per node: this process's (`NodeLimits`), and those shared with other processes (`Slots`).

Within one process each adapter bounds its operations per node with `NodeLimits` (the node's
max_associations or max_connections, else DICOM_MCP_MAX_ASSOCIATIONS).
When several replicas talk to the same PACS, each association also needs a slot from a
`Slots` shared by all of them (`state/limits/leases.py` keeps them in Redis), so that together they
never open more than the PACS's limit. Slots are blocking calls, made from the worker threads
that open and close associations.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

import anyio

from dicom_mcp.model.target import Target
from dicom_mcp.pacs import failures as pacs_failures


class Slots(Protocol):
    """Slots per PACS, at most `limit` taken at once across every process that shares them."""

    def take(self, key: str, limit: int, give_up: float) -> str | None:
        """Wait for a free slot of `key` (first come, first served) and return its token, or None
        once `time.monotonic()` passes `give_up`.

        Raises:
            StoreError: the shared store failed (state/sessions/store.py).
        """

    def give(self, token: str) -> None:
        """Free the slot `token` holds; never raises (a slot not freed expires by itself)."""


def take_slot(slots: Slots, target: Target, limit: int, give_up: float) -> str:
    """A shared slot of `target`'s, within `give_up` (a `time.monotonic()` value).

    Raises:
        PacsBusy: none came free in time, as when every local slot stays taken.
        StoreError: the shared store failed.
    """
    token = slots.take(target.key, limit, give_up)
    if token is None:
        raise pacs_failures.busy(target.describe(), waiting_for_slot=True)
    return token


class NodeLimits:
    """One limiter per node, sized by the node's own limit or the default; waited on within a deadline."""

    def __init__(self, default: int) -> None:
        self._default = default
        self._limiters: dict[str, anyio.CapacityLimiter] = {}

    def limit(self, target: Target) -> int:
        """How many operations `target` may have running at once."""
        return target.max_associations or self._default

    @asynccontextmanager
    async def slot(self, target: Target, budget: float) -> AsyncIterator[None]:
        """Hold one of `target`'s slots for the block, waiting at most `budget` seconds for it.

        Raises:
            PacsBusy: none came free in time.
        """
        limiter = self._limiters.get(target.key)
        if limiter is None:
            limiter = self._limiters[target.key] = anyio.CapacityLimiter(self.limit(target))
        with anyio.move_on_after(budget) as waiting:
            await limiter.acquire()
        if waiting.cancelled_caught:
            raise pacs_failures.busy(target.describe(), waiting_for_slot=True)
        try:
            yield
        finally:
            limiter.release()
