"""The one contract the tools talk to, whichever protocol a node speaks (DIMSE or DICOMweb).

`DicomClient` (C-ECHO, C-FIND, C-GET, C-MOVE) and `dicomweb.DicomWebClient` (QIDO-RS, WADO-RS)
both fulfil it; `services.Backends` routes each call by the target's protocol. Each speaker maps
its own failures into the one error tree (`errors.py`), so callers never know which answered.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from pydicom.dataset import Dataset

from dicom_mcp.dicom.client import FindResult
from dicom_mcp.dicom.queries import Query
from dicom_mcp.dicom.retrievals import Keys
from dicom_mcp.dicom.scu import Moved
from dicom_mcp.dicom.target import Target

Progress = Callable[[int, int], None]


class Backend(Protocol):
    """Find, retrieve, move and check a PACS."""

    async def echo(self, target: Target, deadline: float | None = None) -> float:
        """Check that `target` answers; return the round trip in ms."""
        ...

    async def find(self, target: Target, query: Query, limit: int) -> FindResult:
        """At most `limit` matches of `query`; `truncated` when there were more."""
        ...

    async def get(
        self, target: Target, keys: Keys, sop_classes: Sequence[str], max_bytes: int
    ) -> list[Dataset]:
        """The instances `keys` name, in memory, at most `max_bytes` of them (else RetrieveTooLarge)."""
        ...

    async def move(
        self, target: Target, keys: Keys, destination_ae: str, progress: Progress | None = None
    ) -> Moved:
        """Send what `keys` name to the AE `destination_ae`."""
        ...
