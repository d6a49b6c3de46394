"""The DICOM SCU: C-ECHO and C-FIND against one PACS. The only module that imports pynetdicom.

Every blocking pynetdicom call runs in a worker thread, behind a per-PACS limit on
simultaneous associations, with every pynetdicom timeout set and an overall deadline that
aborts the association when it expires. pynetdicom's failures leave here as the typed
errors of `dicom_mcp.dicom.errors`.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from pynetdicom import AE, _config, evt
from pynetdicom.association import Association
from pynetdicom.transport import AssociationSocket

from dicom_mcp.dicom.errors import (
    AssociationAborted,
    AssociationRejected,
    PacsBusy,
    PacsTimeout,
    PacsUnreachable,
)
from dicom_mcp.dicom.queries import PATIENT_ROOT_FIND, STUDY_ROOT_FIND, Query
from dicom_mcp.dicom.status import raise_for_echo_status, raise_for_find_status
from dicom_mcp.dicom.target import Target
from dicom_mcp.dicom.tls import tls_arguments
from dicom_mcp.dicom.values import JsonValue, shape_identifier

logger = logging.getLogger(__name__)
T = TypeVar("T")

_PENDING = frozenset({0xFF00, 0xFF01})
VERIFICATION = "1.2.840.10008.1.1"
# A PACS at its own association limit rejects "transient"; dcmqrscp, for one, frees slots lazily.
_TRANSIENT_RETRY_PAUSES = (0.05, 0.2, 0.5)


def configure_pynetdicom() -> None:
    """Stop pynetdicom logging identifiers (patient data) and per-message chatter; fix its socket close."""
    _config.LOG_REQUEST_IDENTIFIERS = False
    _config.LOG_RESPONSE_IDENTIFIERS = False
    _config.LOG_HANDLER_LEVEL = "none"
    logging.getLogger("pynetdicom").setLevel(logging.WARNING)
    setattr(AssociationSocket, "_shutdown_socket", _shutdown_then_close)  # noqa: B010


def _shutdown_then_close(self: AssociationSocket) -> None:
    # pynetdicom 3.0 skips close() when shutdown() fails, which it does on a socket whose
    # connect() was refused: the descriptor then lingers until garbage collection.
    sock = self.socket
    if sock is None:
        return
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


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


@dataclass(frozen=True)
class FindResult:
    """The matches of one C-FIND, already JSON-safe; `truncated` means more matches existed."""

    matches: list[dict[str, JsonValue]]
    truncated: bool


@dataclass
class _Probe:
    """What pynetdicom's events told us about an association attempt."""

    connected: bool = False
    rejection: str | None = None
    transient: bool = False

    def on_open(self, event: evt.Event) -> None:
        self.connected = True
        # pynetdicom leaves Nagle on; small request/response exchanges then stall on delayed ACKs.
        sock = getattr(event.assoc.dul.socket, "socket", None)
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def on_acse(self, event: evt.Event) -> None:
        primitive = event.primitive  # type: ignore[attr-defined]
        if getattr(primitive, "result", None) in (0x01, 0x02):
            self.rejection = f"{primitive.result_str}, {primitive.source_str}: {primitive.reason_str}"
            self.transient = primitive.result == 0x02


@dataclass
class _Deadline:
    """Aborts an association when the overall deadline expires, from a timer thread."""

    seconds: float
    expired: bool = False
    _timer: threading.Timer | None = field(default=None, repr=False)

    def arm(self, assoc: Association) -> None:
        def expire() -> None:
            self.expired = True
            assoc.abort()
            # Wake a reader blocked on the DIMSE queue rather than letting it sit out its timeout.
            assoc.dimse.msg_queue.put((None, None))

        self._timer = threading.Timer(max(self.seconds, 0.0), expire)
        self._timer.daemon = True
        self._timer.start()

    def disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


class DicomClient:
    """C-ECHO and C-FIND against any target, within per-target association limits."""

    def __init__(self, config: ClientConfig) -> None:
        configure_pynetdicom()
        self._config = config
        self._ae = self._build_ae(config)
        self._limiters: dict[str, anyio.CapacityLimiter] = {}
        # anyio's default pool has 40 threads; per-PACS limiters bound the real concurrency.
        self._threads = anyio.CapacityLimiter(256)
        self._open = 0
        self._open_lock = threading.Lock()
        self._live: set[Association] = set()
        self._closing = False

    @property
    def open_associations(self) -> int:
        """Associations currently established or being negotiated."""
        return self._open

    @staticmethod
    def _build_ae(config: ClientConfig) -> AE:
        ae = AE(ae_title=config.calling_ae_title)
        ae.connection_timeout = config.connect_timeout
        ae.acse_timeout = config.acse_timeout
        ae.dimse_timeout = config.dimse_timeout
        ae.network_timeout = config.network_timeout
        ae.maximum_associations = 1024
        for context in (VERIFICATION, PATIENT_ROOT_FIND, STUDY_ROOT_FIND):
            ae.add_requested_context(context)
        return ae

    async def echo(self, target: Target, deadline: float | None = None) -> float:
        """Send a C-ECHO within `deadline` (default: the query deadline); return the round trip in ms."""
        return await self._run(target, self._echo_blocking, target, deadline=deadline)

    async def find(self, target: Target, query: Query, limit: int) -> FindResult:
        """Run one C-FIND, keeping at most `limit` matches (C-CANCEL once more arrive)."""
        return await self._run(target, self._find_blocking, target, query, limit)

    async def _run(
        self, target: Target, func: Callable[..., T], *args: Any, deadline: float | None = None
    ) -> T:
        """Wait for an association slot, then run `func` in a worker thread, all within the deadline."""
        started = time.monotonic()
        budget = deadline or self._config.query_deadline
        limiter = self._limiter_for(target)
        with anyio.move_on_after(budget) as waiting:
            await limiter.acquire()
        if waiting.cancelled_caught:
            raise PacsBusy(f"every association to {target.describe()} stayed busy for the whole deadline")
        try:
            remaining = budget - (time.monotonic() - started)
            # Not abandoned on cancellation: the slot is only freed once the association is gone,
            # and the deadline timer bounds how long that takes.
            return await anyio.to_thread.run_sync(partial(func, *args, remaining), limiter=self._threads)
        finally:
            limiter.release()

    def _limiter_for(self, target: Target) -> anyio.CapacityLimiter:
        limiter = self._limiters.get(target.key)
        if limiter is None:
            limiter = anyio.CapacityLimiter(target.max_associations or self._config.max_associations)
            self._limiters[target.key] = limiter
        return limiter

    def _echo_blocking(self, target: Target, remaining: float) -> float:
        started = time.perf_counter()
        with self._associate(target, remaining) as (assoc, deadline):
            asked = time.monotonic()
            status = assoc.send_c_echo()
            if not status:
                raise self._silence(target, deadline, asked)
            raise_for_echo_status(status)
        return (time.perf_counter() - started) * 1000

    def _find_blocking(self, target: Target, query: Query, limit: int, remaining: float) -> FindResult:
        matches: list[dict[str, JsonValue]] = []
        truncated = False
        with self._associate(target, remaining) as (assoc, deadline):
            responses = assoc.send_c_find(query.identifier(), query.model)
            last_answer = time.monotonic()
            for status, identifier in responses:
                if not status:
                    raise self._silence(target, deadline, last_answer)
                last_answer = time.monotonic()
                if status and status.Status in _PENDING:
                    if identifier is None:
                        continue
                    if len(matches) < limit:
                        matches.append(shape_identifier(identifier, query.return_keys))
                    elif not truncated:
                        # One match beyond the limit proves there are more: stop the PACS.
                        truncated = True
                        assoc.send_c_cancel(1, query_model=query.model)
                    continue
                raise_for_find_status(status, cancelled=truncated)
        return FindResult(matches, truncated)

    def _silence(self, target: Target, deadline: _Deadline, since: float) -> Exception:
        """Explain why pynetdicom gave up waiting: our deadline, its DIMSE timeout, or an abort."""
        where = target.describe()
        if self._closing:
            return AssociationAborted("the service is shutting down; the operation was stopped")
        if deadline.expired:
            return PacsTimeout(f"{where} did not finish within the query deadline")
        if time.monotonic() - since >= self._config.dimse_timeout * 0.9:
            return PacsTimeout(
                f"{where} sent nothing for the DIMSE timeout ({self._config.dimse_timeout:g} s)"
            )
        return AssociationAborted(f"{where} aborted the association mid-operation")

    @contextmanager
    def _associate(self, target: Target, remaining: float) -> Iterator[tuple[Association, _Deadline]]:
        give_up = time.monotonic() + remaining
        with self._counted():
            assoc = self._request_association(target, give_up)
            deadline = _Deadline(give_up - time.monotonic())
            deadline.arm(assoc)
            with self._open_lock:
                self._live.add(assoc)
            try:
                yield assoc, deadline
            finally:
                with self._open_lock:
                    self._live.discard(assoc)
                deadline.disarm()
                if assoc.is_established:
                    assoc.release()

    def abort_all(self) -> int:
        """Abort every open association (at shutdown, once the grace period is over); return how many.

        The operations on them end at once with AssociationAborted, instead of holding the
        process until their deadlines. Blocking: call it from a worker thread.
        """
        self._closing = True
        with self._open_lock:
            live = list(self._live)
        for assoc in live:
            assoc.abort()
            assoc.dimse.msg_queue.put((None, None))  # wake a reader blocked on the DIMSE queue
        return len(live)

    def _request_association(self, target: Target, give_up: float) -> Association:
        """Associate, retrying a transient rejection (a PACS at its association limit) a few times."""
        for pause in (*_TRANSIENT_RETRY_PAUSES, None):
            probe = _Probe()
            handlers: list[Any] = [(evt.EVT_CONN_OPEN, probe.on_open), (evt.EVT_ACSE_RECV, probe.on_acse)]
            assoc = self._ae.associate(
                target.host,
                target.port,
                ae_title=target.ae_title,
                evt_handlers=handlers,
                tls_args=tls_arguments(target),
            )
            if assoc.is_established:
                return assoc
            if not probe.transient or pause is None or time.monotonic() + pause >= give_up:
                raise _association_failure(target, assoc, probe)
            time.sleep(pause)
        raise AssertionError("unreachable")  # pragma: no cover

    @contextmanager
    def _counted(self) -> Iterator[None]:
        with self._open_lock:
            self._open += 1
        try:
            yield
        finally:
            with self._open_lock:
                self._open -= 1


def _association_failure(target: Target, assoc: Association, probe: _Probe) -> Exception:
    where = target.describe()
    if probe.rejection is not None:
        return AssociationRejected(f"{where} rejected the association ({probe.rejection})")
    if not probe.connected:
        if target.tls is not None:
            return PacsUnreachable(
                f"could not open a TLS connection to {where} (refused, or certificate rejected)"
            )
        return PacsUnreachable(f"could not open a TCP connection to {where}")
    if assoc.is_aborted and assoc.acceptor.primitive is not None and not assoc.accepted_contexts:
        return AssociationAborted(f"{where} accepted none of the query services this server uses")
    if assoc.is_aborted and target.tls is not None:
        return AssociationAborted(
            f"{where} closed the TLS connection during negotiation (client certificate refused?)"
        )
    if assoc.is_aborted:
        return AssociationAborted(f"{where} aborted the association during negotiation")
    return PacsTimeout(f"{where} did not answer the association request in time")
