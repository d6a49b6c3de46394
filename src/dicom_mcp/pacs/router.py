"""The backend contract the tools call, routed by each target's protocol: DIMSE or DICOMweb.

The router knows the adapters only as `Adapter`s (the composition root, `services.py`, builds
them), so this package stays below both.
"""

from __future__ import annotations

from collections.abc import Sequence

from dicom_mcp.model.instances import Instance
from dicom_mcp.model.queries import Query
from dicom_mcp.model.retrievals import Keys
from dicom_mcp.model.target import Target
from dicom_mcp.pacs.backend import Adapter, FindResult, Moved, Progress
from dicom_mcp.pacs.budget import Budget


class Backends:
    """One `Backend` over two adapters: `dimse` for DIMSE nodes, `web` for DICOMweb ones."""

    def __init__(self, dimse: Adapter, web: Adapter) -> None:
        self.dimse = dimse
        self.web = web

    def _for(self, target: Target) -> Adapter:
        return self.web if target.web is not None else self.dimse

    async def echo(self, target: Target, deadline: float | None = None) -> float:
        return await self._for(target).echo(target, deadline)

    async def find(self, target: Target, query: Query, limit: int) -> FindResult:
        return await self._for(target).find(target, query, limit)

    async def get(
        self,
        target: Target,
        keys: Keys,
        sop_classes: Sequence[str],
        budget: Budget,
        header_only: bool = False,
        frames: tuple[int, ...] | None = None,
    ) -> list[Instance]:
        return await self._for(target).get(target, keys, sop_classes, budget, header_only, frames)

    async def move(
        self, target: Target, keys: Keys, destination_ae: str, progress: Progress | None = None
    ) -> Moved:
        return await self._for(target).move(target, keys, destination_ae, progress)

    @property
    def in_flight(self) -> int:
        """DIMSE associations carrying an operation, and DICOMweb operations running."""
        return self.dimse.in_flight + self.web.in_flight

    def abort_all(self) -> int:
        """Stop every running operation, on both protocols (at shutdown). Blocking: from a worker thread."""
        return self.dimse.abort_all() + self.web.abort_all()

    async def aclose(self) -> None:
        """Close both adapters' idle connections."""
        await self.web.aclose()
        await self.dimse.aclose()
