"""The DICOMweb client: the backend contract (echo, find, get) over QIDO-RS and WADO-RS.

Each node has its own httpx connection pool, kept alive between operations, as many connections
as its limit (the node's max_connections, else DICOM_MCP_MAX_ASSOCIATIONS), which also bounds
the operations running on it at once. Every operation runs within the overall deadline
(DICOM_MCP_QUERY_DEADLINE, waiting for a slot included); each request has the connect timeout
and, between bytes, the network timeout. httpx is async, so nothing here needs a worker thread
but the decoding of large bodies.

With `slots` (replicas sharing Redis), each operation also holds a slot of the node shared by
all replicas, as DIMSE associations do (`pacs/slots.py`), so that together they keep within
the node's limit.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TypeVar

import anyio
import anyio.from_thread
import anyio.to_thread
import httpx

from dicom_mcp.dicomweb import finding
from dicom_mcp.dicomweb.auth import FileAuth, tls_context
from dicom_mcp.dicomweb.decoding import QueryDecoding
from dicom_mcp.dicomweb.exchange import Exchange
from dicom_mcp.dicomweb.frames import read_frames
from dicom_mcp.dicomweb.search import url_path
from dicom_mcp.errors import MoveRefused, PacsError, PacsTimeout, RetrieveTooLarge
from dicom_mcp.model.instances import Instance
from dicom_mcp.model.queries import Query
from dicom_mcp.model.retrievals import Keys
from dicom_mcp.model.target import Target, WebSettings
from dicom_mcp.pacs import failures as pacs_failures
from dicom_mcp.pacs.backend import ClientConfig, FindResult, Moved, Progress
from dicom_mcp.pacs.budget import Budget
from dicom_mcp.pacs.slots import NodeLimits, Slots, take_slot

T = TypeVar("T")
USER_AGENT = "dicom-mcp"
KEEPALIVE_SECONDS = 30.0  # an idle connection is closed after this long


class DicomWebClient:
    """QIDO-RS and WADO-RS against DICOMweb nodes, within per-node limits and the deadline."""

    def __init__(
        self, config: ClientConfig, slots: Slots | None = None, decoding: QueryDecoding | None = None
    ) -> None:
        self._config = config
        self._slots = slots
        # What each archive does with percent-encoded query values, probed once and remembered.
        self._decoding = decoding if decoding is not None else QueryDecoding()
        self._pools: dict[str, httpx.AsyncClient] = {}
        self._limits = NodeLimits(config.max_associations)
        self._live: set[anyio.CancelScope] = set()
        self._closing = False

    @property
    def in_flight(self) -> int:
        """Operations running right now."""
        return len(self._live)

    async def echo(self, target: Target, deadline: float | None = None) -> float:
        """Run a one-result QIDO-RS search within `deadline`; return its round trip in ms."""

        async def ping(exchange: Exchange) -> float:
            started = time.perf_counter()
            await exchange.search("studies", "limit=1", scoped=False, rows=1)
            return (time.perf_counter() - started) * 1000

        return await self._run(target, ping, deadline)

    async def find(self, target: Target, query: Query, limit: int) -> FindResult:
        """At most `limit` matches of `query` (one more is asked for, to tell `truncated`); whether
        values that travel escaped match here is the node's `local_matching`, else found out by
        asking the archive (`decoding.py`)."""
        web = _web(target)

        async def work(exchange: Exchange) -> FindResult:
            local = self._decoding.local_matching(web.local_matching, target.key, exchange)
            return await finding.find(exchange, query, limit, local_matching=local)

        return await self._run(target, work)

    async def get(
        self,
        target: Target,
        keys: Keys,
        sop_classes: Sequence[str],
        budget: Budget,
        header_only: bool = False,
        frames: tuple[int, ...] | None = None,
    ) -> list[Instance]:
        """WADO-RS the instances `keys` name, as stored, into memory (`sop_classes` is DIMSE's concern).

        With `header_only`, one instance too large for `budget` is read from its WADO-RS metadata
        instead (DICOM JSON, bulk data by reference), which any size of instance fits; with
        `frames`, from its metadata and those WADO-RS frames (`frames.py`: `frames_kept`).

        Raises:
            RetrieveTooLarge: they passed the call's budget.
        """
        path = ["studies", keys.study]
        if keys.series:
            path += ["series", keys.series]
            if keys.instance:
                path += ["instances", keys.instance]
        sop_uid = keys.instance if keys.series else None

        async def work(exchange: Exchange) -> list[Instance]:
            held = budget.held
            try:
                return await exchange.instances(url_path(path), budget)
            except RetrieveTooLarge as exc:
                if not (header_only or frames) or sop_uid is None:
                    raise
                too_large = exc
            budget.give(budget.held - held)  # what the refused body took: nothing of it is kept
            if frames:
                try:
                    return await read_frames(exchange, path, budget, sop_uid, frames)
                except PacsError as exc:  # the cap is still the reason; the frames' failure follows
                    raise RetrieveTooLarge(
                        f"{too_large}; reading only the frames asked for failed too: {exc}"
                    ) from exc
            return await exchange.metadata(url_path([*path, "metadata"]), budget, sop_uid)

        return await self._run(target, work)

    async def move(
        self, target: Target, keys: Keys, destination_ae: str, progress: Progress | None = None
    ) -> Moved:
        """DICOMweb has no move: refused, naming where moves work."""
        raise MoveRefused(
            f"{target.describe()} speaks DICOMweb, which has no move: move_study and move_series "
            "work on DIMSE nodes only (list_dicom_nodes shows them)"
        )

    def abort_all(self) -> int:
        """Stop every running operation (at shutdown); they end with "shutting down". Returns how many.

        Call it from a worker thread started by anyio, or from the event loop's own thread.
        """
        self._closing = True
        live = list(self._live)
        for scope in live:
            try:
                anyio.from_thread.run_sync(scope.cancel)
            except RuntimeError:  # not in an anyio worker thread: on the event loop itself
                scope.cancel()
        return len(live)

    async def aclose(self) -> None:
        """Close every node's connections."""
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()

    async def _run(
        self, target: Target, work: Callable[[Exchange], Awaitable[T]], deadline: float | None = None
    ) -> T:
        """Wait for a slot on the node, then run `work`, all within the deadline."""
        budget = deadline or self._config.query_deadline
        give_up = anyio.current_time() + budget
        where = target.describe()
        async with self._limits.slot(target, budget):  # noqa: SIM117 - the shared wait starts after this one
            async with self._shared_slot(target, time.monotonic() + (give_up - anyio.current_time())):
                return await self._exchange(target, work, where, budget, give_up)

    @asynccontextmanager
    async def _shared_slot(self, target: Target, give_up: float) -> AsyncIterator[None]:
        """Hold one of the node's slots shared by all replicas (nothing to hold without `slots`)."""
        if self._slots is None:
            yield
            return
        slots = self._slots
        token = await anyio.to_thread.run_sync(take_slot, slots, target, self._limit(target), give_up)
        try:
            yield
        finally:
            with anyio.CancelScope(shield=True):  # a cancelled operation frees its slot too
                await anyio.to_thread.run_sync(slots.give, token)

    async def _exchange(
        self,
        target: Target,
        work: Callable[[Exchange], Awaitable[T]],
        where: str,
        budget: float,
        give_up: float,
    ) -> T:
        """Run `work` on the node's connections within the deadline `give_up` (anyio's clock)."""
        exchange = Exchange(
            self._pool_for(target), _web(target).url, where, self._config.network_timeout, give_up
        )
        with anyio.CancelScope(deadline=give_up) as scope:
            self._live.add(scope)
            try:
                return await work(exchange)
            finally:
                self._live.discard(scope)
        if self._closing:
            raise pacs_failures.shutting_down()
        raise PacsTimeout(f"{where} did not finish within the query deadline ({budget:g} s)")

    def _limit(self, target: Target) -> int:
        return self._limits.limit(target)

    def _pool_for(self, target: Target) -> httpx.AsyncClient:
        key = f"{target.name}\x00{target.key}"  # two nodes on one root may hold different credentials
        pool = self._pools.get(key)
        if pool is None:
            web, name = _web(target), target.name or "?"
            limit = self._limit(target)
            pool = httpx.AsyncClient(
                auth=FileAuth(web, name),
                verify=tls_context(web, name),
                timeout=httpx.Timeout(
                    self._config.network_timeout, connect=self._config.connect_timeout, pool=None
                ),
                limits=httpx.Limits(
                    max_connections=limit, max_keepalive_connections=limit, keepalive_expiry=KEEPALIVE_SECONDS
                ),
                headers={"User-Agent": USER_AGENT},
                follow_redirects=False,  # a redirect would carry our credentials elsewhere
            )
            self._pools[key] = pool
        return pool


def _web(target: Target) -> WebSettings:
    if target.web is None:
        raise TypeError("DicomWebClient serves DICOMweb nodes only")
    return target.web
