"""The one contract the tools talk to, whichever protocol a node speaks (DIMSE or DICOMweb).

`dimse.DicomClient` (C-ECHO, C-FIND, C-GET, C-MOVE) and `dicomweb.DicomWebClient` (QIDO-RS,
WADO-RS) both fulfil it (as `Adapter`s), with the result types and the configuration defined
here; `router.Backends` routes each call by the target's protocol. Each speaker maps
its own failures into the one error tree (`errors.py`), so callers never know which answered.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from dicom_mcp.model.instances import Instance
from dicom_mcp.model.queries import Query
from dicom_mcp.model.retrievals import Keys
from dicom_mcp.model.target import Target
from dicom_mcp.model.values import JsonValue
from dicom_mcp.pacs.budget import Budget

Progress = Callable[[int, int], None]
"""`progress(done, total)`, called as a move goes (from a worker thread, for DIMSE)."""


@dataclass(frozen=True)
class ClientConfig:
    """How the SCU behaves; built from settings by the caller."""

    calling_ae_title: str
    connect_timeout: float = 5.0
    acse_timeout: float = 10.0
    dimse_timeout: float = 30.0
    network_timeout: float = 30.0
    query_deadline: float = 60.0
    max_associations: int = 8
    association_lifetime: float = 0.5  # seconds a C-FIND association is reused after it opens; 0: never


@dataclass(frozen=True)
class FindResult:
    """The matches of one C-FIND, already JSON-safe; `truncated` means more matches existed."""

    matches: list[dict[str, JsonValue]]
    truncated: bool


@dataclass(frozen=True)
class Moved:
    """The outcome of one move: sub-operation counts and the final status."""

    completed: int
    failed: int
    warning: int
    status: int


class Backend(Protocol):
    """Find, retrieve, move and check a PACS."""

    async def echo(self, target: Target, deadline: float | None = None) -> float:
        """Check that `target` answers; return the round trip in ms."""
        ...

    async def find(self, target: Target, query: Query, limit: int) -> FindResult:
        """At most `limit` matches of `query`; `truncated` when there were more."""
        ...

    async def get(
        self,
        target: Target,
        keys: Keys,
        sop_classes: Sequence[str],
        budget: Budget,
        header_only: bool = False,
        frames: tuple[int, ...] | None = None,
    ) -> list[Instance]:
        """The instances `keys` name, in memory as bytes, within `budget` (else RetrieveTooLarge).

        With `header_only` (one instance, for its header), an instance too large for `budget` may
        come without its pixel data: up to it (DIMSE), or as its WADO-RS metadata (DICOMweb);
        its `pixels_left` then says so. With `frames` (one instance, for those frames, numbered
        from 1), such an instance may come with only those frames in its pixel data: picked from
        the stream (DIMSE), or its metadata and WADO-RS frames (DICOMweb); its `frames_kept` says so.
        """
        ...

    async def move(
        self, target: Target, keys: Keys, destination_ae: str, progress: Progress | None = None
    ) -> Moved:
        """Send what `keys` name to the AE `destination_ae`."""
        ...


class Adapter(Backend, Protocol):
    """A protocol's side of the contract (`dimse.DicomClient`, `dicomweb.DicomWebClient`), as the
    router and the process's lifecycle see it."""

    @property
    def in_flight(self) -> int:
        """Operations running right now."""
        ...

    def abort_all(self) -> int:
        """Stop every running operation (at shutdown); return how many. Blocking."""
        ...

    async def aclose(self) -> None:
        """Release idle connections."""
        ...
