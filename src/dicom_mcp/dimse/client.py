"""The DIMSE adapter: C-ECHO, C-FIND, C-GET and C-MOVE against any PACS, within per-PACS limits.

Every blocking pynetdicom call (`scu/`) runs in a worker thread, behind a per-PACS limit on
simultaneous associations, with every pynetdicom timeout set and an overall deadline.
Only `scu/` and `reactor.py` touch pynetdicom; failures leave as the typed errors of `errors.py`, put into
words by `failures.py`.

With `ClientConfig.association_lifetime` > 0 (DICOM_MCP_ASSOCIATION_LIFETIME, 0.5 s by
default), C-FIND associations that end cleanly are kept for the next C-FIND to the same PACS
(`pool.py`), which saves the handshake, the release and two pynetdicom threads per query.
Kept ones count against the association limit, and each is released that many seconds after
it opened, so that a PACS serving associations on a few worker threads soon serves others.
A PACS may drop a kept association at any moment, so a reused one that closes before
answering is retried once.

With a lifetime of 0, each C-FIND opens its own association, which is released after the
answer has been returned (the release's round trip is off the answer's path, though the
association still counts against the limit until it is gone).
C-ECHO always opens its own association: it is a connectivity check.

With `slots` (replicas sharing Redis), every association also holds a slot shared by all
replicas from before it opens until after it is closed (`opener.py`), so together they stay
within the PACS's limit; a call that gets no slot before its deadline fails as "busy", like one
that gets no local slot.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from dicom_mcp.dimse import scu
from dicom_mcp.dimse.by_move import Modes, check_fallback, not_offered, read_by_move
from dicom_mcp.dimse.live import Live
from dicom_mcp.dimse.opener import Opener
from dicom_mcp.dimse.pool import Lease, Pool
from dicom_mcp.dimse.receiver import Receiver
from dicom_mcp.dimse.scu import Channel
from dicom_mcp.dimse.waits import Waiter
from dicom_mcp.errors import (
    Dropped,
    GetNotOffered,
    IdentifierNotEncodable,
    PacsError,
    PoolTimeout,
    QueryFailed,
    RetrieveTooLarge,
    ServiceBusy,
)
from dicom_mcp.model.instances import Instance
from dicom_mcp.model.queries import Query
from dicom_mcp.model.retrievals import Keys
from dicom_mcp.model.target import Target
from dicom_mcp.pacs import failures as pacs_failures
from dicom_mcp.pacs.backend import ClientConfig, FindResult, Moved, Progress
from dicom_mcp.pacs.budget import Budget
from dicom_mcp.pacs.slots import NodeLimits, Slots

logger = logging.getLogger(__name__)
T = TypeVar("T")


class DicomClient:
    """C-ECHO, C-FIND, C-GET and C-MOVE against any target, within per-target association limits."""

    def __init__(
        self, config: ClientConfig, slots: Slots | None = None, receiver: Receiver | None = None
    ) -> None:
        self._config = config
        self._receiver = receiver
        self._modes = Modes()
        self._ae = scu.build_ae(
            config.calling_ae_title,
            connect=config.connect_timeout,
            acse=config.acse_timeout,
            dimse=config.dimse_timeout,
            network=config.network_timeout,
        )
        self._associations = Opener(self._ae, slots, self._limit)
        self._limits = NodeLimits(config.max_associations)
        self._pools: dict[str, Pool[Channel]] = {}
        # anyio's default pool has 40 threads; per-PACS limiters bound the real concurrency.
        self._threads = anyio.CapacityLimiter(256)
        self._live = Live()

    @property
    def open_associations(self) -> int:
        """Associations carrying an operation or being negotiated (idle ones kept for reuse are not)."""
        return self._live.count

    @property
    def in_flight(self) -> int:
        """Operations running (the router's name for `open_associations`)."""
        return self._live.count

    async def aclose(self) -> None:
        """Nothing to wait for: idle associations are released when their lifetime ends."""

    @property
    def idle_associations(self) -> int:
        """Associations kept open between operations, for reuse."""
        return sum(pool.idle for pool in list(self._pools.values()))

    def close(self) -> None:
        """Release every idle association. Blocking: call it from a worker thread."""
        for pool in list(self._pools.values()):
            pool.close()

    def abort_all(self) -> int:
        """Abort every open association (at shutdown, once the grace period is over); return how many.

        The operations on them end at once with AssociationAborted, instead of holding the
        process until their deadlines; idle associations are released. Blocking: call it from
        a worker thread.
        """
        aborted = self._live.abort_all(scu.abort)
        self.close()
        return aborted

    async def echo(self, target: Target, deadline: float | None = None) -> float:
        """Send a C-ECHO within `deadline` (default: the query deadline); return the round trip in ms."""
        return await self._run(target, self._echo_blocking, target, deadline=deadline)

    async def find(self, target: Target, query: Query, limit: int) -> FindResult:
        """Run one C-FIND, keeping at most `limit` matches (C-CANCEL once more arrive)."""
        return await self._run(target, self._find_blocking, target, query, limit)

    async def get(
        self,
        target: Target,
        keys: Keys,
        sop_classes: Sequence[str],
        budget: Budget,
        header_only: bool = False,
        frames: tuple[int, ...] | None = None,
    ) -> list[Instance]:
        """C-GET the instances `keys` name (of `sop_classes`) into memory, within `budget`.

        With `header_only`, an instance too large for `budget` is taken up to its pixel data and the
        retrieval ends there (its `pixels_left` says so); with `frames`, it is taken with only
        those frames (its `frames_kept` says so).

        Raises:
            RetrieveTooLarge: they passed the call's budget; the C-GET was cancelled.
        """
        if self._modes.by_move(target):
            return await self._by_move(target, keys, budget, header_only, frames)
        try:
            got = await self._run(
                target, self._get_blocking, target, keys, tuple(sop_classes), budget, (header_only, frames)
            )
        except PacsError as exc:
            check_fallback(target, exc, self._receiver)  # raises unless C-MOVE may read it instead
            self._modes.learnt_get_refused(target)
            logger.info("%s refused C-GET; it is read by C-MOVE to the receiver", target.describe())
            return await self._by_move(target, keys, budget, header_only, frames)
        return got.instances

    async def _by_move(
        self, target: Target, keys: Keys, budget: Budget, header_only: bool, frames: tuple[int, ...] | None
    ) -> list[Instance]:
        """C-MOVE the instances `keys` name to the receiver, and take them there, within `budget`."""
        if self._receiver is None:
            raise GetNotOffered(not_offered(target))
        expected = [keys.instance] if keys.instance else None
        with self._receiver.waits.waiting(expected, budget, target.ae_title, header_only, frames) as waiter:
            return await self._run(target, self._move_in_blocking, target, keys, waiter)

    async def move(
        self, target: Target, keys: Keys, destination_ae: str, progress: Progress | None = None
    ) -> Moved:
        """C-MOVE what `keys` name to the AE `destination_ae`; `progress(done, total)` as it goes.

        `progress` is called from a worker thread.
        """
        return await self._run(target, self._move_blocking, target, keys, destination_ae, progress)

    async def _run(
        self, target: Target, func: Callable[..., T], *args: Any, deadline: float | None = None
    ) -> T:
        """Wait for an association slot, then run `func` in a worker thread, all within the deadline."""
        started = time.monotonic()
        budget = deadline or self._config.query_deadline
        async with self._limits.slot(target, budget):
            # Not abandoned on cancellation: the slot is only freed once the association is
            # settled, and the deadline (the timeout of every wait) bounds how long that takes.
            return await anyio.to_thread.run_sync(
                partial(func, *args, started + budget), limiter=self._threads
            )

    def _limit(self, target: Target) -> int:
        return self._limits.limit(target)

    def _pool_for(self, target: Target) -> Pool[Channel]:
        pool = self._pools.get(target.key)
        if pool is None:
            pool = Pool(
                self._limit(target), self._config.association_lifetime, scu.usable, self._associations.close
            )
            self._pools[target.key] = pool
        return pool

    def _one_off(
        self,
        target: Target,
        give_up: float,
        exchange: Callable[[Channel], T],
        contexts: Any = None,
        roles: Any = (),
    ) -> T:
        """Open an association of its own for one exchange, and release it (abort it on failure)."""
        with self._live.counted():
            channel = self._associations.open(target, give_up, contexts, roles)
            settled = False  # the exchange ran to its end, whatever the status: release, don't abort
            try:
                with self._live.on(channel):
                    result = exchange(channel)
                settled = True
            except (QueryFailed, RetrieveTooLarge, ServiceBusy):
                settled = True
                raise
            finally:  # a message cut short or refused mid-way leaves an association only to abort
                self._associations.close(channel, graceful=settled and not scu.stopped(channel))
        return result

    def _echo_blocking(self, target: Target, give_up: float) -> float:
        started = time.perf_counter()
        self._one_off(target, give_up, lambda ch: scu.echo(ch, target, give_up, self._config.dimse_timeout))
        return (time.perf_counter() - started) * 1000

    def _get_blocking(
        self,
        target: Target,
        keys: Keys,
        sop_classes: Sequence[str],
        budget: Budget,
        wants: tuple[bool, tuple[int, ...] | None],
        give_up: float,
    ) -> scu.Retrieved:
        contexts, roles = scu.get_contexts(sop_classes)
        dimse = self._config.dimse_timeout
        return self._one_off(
            target,
            give_up,
            lambda ch: scu.get(ch, target, keys, give_up, dimse, budget, *wants),
            contexts,
            roles,
        )

    def _move_in_blocking(self, target: Target, keys: Keys, waiter: Waiter, give_up: float) -> list[Instance]:
        assert self._receiver is not None
        one_off = partial(self._one_off, target, give_up)
        return read_by_move(
            one_off, self._receiver, self._config.dimse_timeout, target, keys, waiter, give_up
        )

    def _move_blocking(
        self, target: Target, keys: Keys, destination_ae: str, progress: Progress | None, give_up: float
    ) -> Moved:
        dimse = self._config.dimse_timeout
        return self._one_off(
            target,
            give_up,
            lambda ch: scu.move(ch, target, keys, destination_ae, give_up, dimse, progress),
            scu.move_contexts(),
        )

    def _find_blocking(self, target: Target, query: Query, limit: int, give_up: float) -> FindResult:
        pool = self._pool_for(target)
        reuse = self._config.association_lifetime > 0
        with self._live.counted():
            for attempt in (1, 2):
                lease = self._lease(pool, target, give_up, reuse=reuse and attempt == 1)
                try:
                    with self._live.on(lease.conn):
                        found = scu.find(
                            lease.conn,
                            target,
                            query,
                            limit,
                            give_up,
                            self._config.dimse_timeout,
                            lease.uses % 0xFFFF + 1,
                        )
                except QueryFailed:
                    pool.discard(lease, graceful=True)  # a failure status ends the exchange cleanly
                    raise
                except IdentifierNotEncodable:
                    self._settle(pool, lease, reuse)  # nothing was sent: the association is as it was
                    raise
                except Dropped:
                    pool.discard(lease, graceful=False)
                    if lease.reused and attempt == 1 and not self._live.closing:
                        logger.info(
                            "a reused association to %s was closed; retrying on a new one", target.describe()
                        )
                        continue
                    raise
                except BaseException:
                    pool.discard(lease, graceful=False)
                    raise
                if found.clean:
                    self._settle(pool, lease, reuse)
                else:
                    pool.discard(lease, graceful=True)
                return FindResult(found.matches, found.truncated)
        raise AssertionError("unreachable")  # pragma: no cover

    def _settle(self, pool: Pool[Channel], lease: Lease[Channel], reuse: bool) -> None:
        """Keep an association whose exchange ended cleanly, or release it off the answer's path."""
        if reuse and not self._live.closing:
            pool.give_back(lease)
        else:  # released after the answer is on its way; the slot stays taken until then
            pool.discard(lease, graceful=True, wait=False)

    def _lease(self, pool: Pool[Channel], target: Target, give_up: float, *, reuse: bool) -> Lease[Channel]:
        try:
            return pool.acquire(partial(self._associations.open, target, give_up), give_up, reuse=reuse)
        except PoolTimeout as exc:
            raise pacs_failures.busy(target.describe(), waiting_for_slot=False) from exc
