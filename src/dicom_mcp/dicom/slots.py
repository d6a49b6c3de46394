"""Association slots shared with other processes: the contract the DICOM client waits on.

Within one process the client bounds associations per PACS by itself (`client.py`, `pool.py`).
When several replicas talk to the same PACS, each association also needs a slot from a
`Slots` shared by all of them (`limits/leases.py` keeps them in Redis), so that together they
never open more than the PACS's limit. Slots are blocking calls, made from the worker threads
that open and close associations.
"""

from __future__ import annotations

from typing import Protocol

from dicom_mcp.dicom import failures
from dicom_mcp.dicom.target import Target


class Slots(Protocol):
    """Slots per PACS, at most `limit` taken at once across every process that shares them."""

    def take(self, key: str, limit: int, give_up: float) -> str | None:
        """Wait for a free slot of `key` (first come, first served) and return its token, or None
        once `time.monotonic()` passes `give_up`.

        Raises:
            StoreError: the shared store failed (sessions/store.py).
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
        raise failures.busy(target.describe(), waiting_for_slot=True)
    return token
