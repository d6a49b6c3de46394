"""The reverse map of pseudonyms: which original a token stands for, per principal.

A pseudonymised caller passes tokens back as arguments; the view boundary turns them into
originals here. Entries are keyed by (principal, kind, token), so a token minted for one
principal means nothing to another, and expire after a sliding TTL refreshed by every
emission (`remember`) and every use (`recall`). Implementations (`memory.py`, `redis.py`)
share this contract and one contract test suite. Kinds are "uid", "patient_id", "accession"
and "study_id" (privacy/pseudonyms.py makes the tokens); failures raise the session store's errors:

    StoreError           base (also: an entry in the store is malformed)
    └── StoreUnavailable the backing service cannot be reached
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Protocol

# Tokens are at most a 2.25 UID (64 characters); anything longer was never minted, so it is
# answered as unknown without asking the store.
MAX_TOKEN_LENGTH: Final = 64


@dataclass(frozen=True)
class Original:
    """What a token stands for: the original value and, for date offsets, its patient's original ID."""

    value: str
    patient: str | None

    def to_json(self) -> str:
        """Serialise for stores that keep bytes."""
        return json.dumps({"value": self.value, "patient": self.patient}, ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Original:
        """Parse what `to_json` wrote.

        Raises:
            ValueError: `raw` is not such an object (json.JSONDecodeError is a ValueError).
        """
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        value, patient = data.get("value"), data.get("patient")
        if not isinstance(value, str) or not (patient is None or isinstance(patient, str)):
            raise ValueError("expected a string value and a string or null patient")
        return cls(value, patient)


class TokenMap(Protocol):
    """(principal, kind, token) -> original, each entry with a sliding TTL."""

    async def remember(self, principal: str, entries: Mapping[tuple[str, str], Original]) -> None:
        """Store each (kind, token) -> original for `principal`, with a fresh TTL for every entry."""

    async def recall(self, principal: str, kind: str, token: str) -> Original | None:
        """The original `principal` was given `token` of `kind` for, refreshing its TTL; None if
        unknown, expired or another principal's."""

    async def ping(self) -> None:
        """Return if the map's store answers; raise StoreUnavailable otherwise."""

    async def aclose(self) -> None:
        """Release connections; the map is unusable afterwards."""
