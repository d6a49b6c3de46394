"""The session store contract: where DICOM session entries live between tool calls.

Implementations (`memory.py`, `redis.py`) share this contract and one contract test suite.
Keys are opaque strings chosen by the resolver (already hashed); entries expire after a
sliding TTL, refreshed by every successful `get`.

    StoreError           base
    └── StoreUnavailable the backing service cannot be reached
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Protocol

from dicom_mcp.model.target import Target


@dataclass(frozen=True)
class SessionEntry:
    """One configured DICOM target, owned by the principal that configured it."""

    target: Target
    principal: str

    def to_json(self) -> str:
        """Serialise for stores that keep bytes."""
        t = self.target
        return json.dumps(
            {
                "host": t.host,
                "port": t.port,
                "ae_title": t.ae_title,
                "name": t.name,
                "principal": self.principal,
            }
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> SessionEntry:
        """Parse what `to_json` wrote."""
        data = json.loads(raw)
        target = Target(data["host"], int(data["port"]), data["ae_title"], data.get("name"))
        return cls(target, data["principal"])


class SessionStore(Protocol):
    """Async key-value store of session entries with a sliding TTL."""

    async def put(self, key: str, entry: SessionEntry) -> None:
        """Store `entry` under `key`, replacing any previous entry, with a fresh TTL."""

    async def get(self, key: str) -> SessionEntry | None:
        """Return the live entry under `key` and refresh its TTL, or None if absent or expired."""

    async def delete(self, key: str) -> None:
        """Forget `key` (no error if absent)."""

    async def count(self) -> int:
        """How many live entries the store holds."""

    async def ping(self) -> None:
        """Return if the store answers; raise StoreUnavailable otherwise."""

    async def aclose(self) -> None:
        """Release connections; the store is unusable afterwards."""
