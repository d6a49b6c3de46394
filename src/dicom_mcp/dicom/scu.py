"""pynetdicom, behind one door: associate, one C-ECHO or C-FIND, close or abort.

Blocking functions for `client.py`'s worker threads, which hold each association as an opaque
`Channel` and never touch pynetdicom themselves. Two departures from pynetdicom's own
`send_c_find` are deliberate (and measured in bench/):
- Each association's reactor thread is stopped as soon as the association is accepted. It
  only polled and, when resumed between operations, could take a C-FIND response off the
  DIMSE queue before the operation waiting for it saw it (pynetdicom issue 875): here the
  operation's own thread is the queue's only reader, and it checks that every response
  answers its message ID.
- Responses are shaped straight from their raw elements (`values.shaper_for`), and the
  deadline is the timeout of each wait on the queue, so no timer thread runs per operation.
What pynetdicom reports is turned into errors by `failures.py`.
"""

from __future__ import annotations

import queue
import socket
import time
from contextlib import suppress
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any, Final, TypeVar

from pydicom.uid import UID
from pynetdicom import AE, evt
from pynetdicom.association import Association
from pynetdicom.dimse_primitives import C_ECHO, C_FIND
from pynetdicom.dsutils import decode

from dicom_mcp.dicom import failures
from dicom_mcp.dicom.queries import PATIENT_ROOT_FIND, STUDY_ROOT_FIND, Query
from dicom_mcp.dicom.target import Target
from dicom_mcp.dicom.tls import tls_arguments
from dicom_mcp.dicom.values import JsonValue, Shaper, shaper_for

R = TypeVar("R", C_FIND, C_ECHO)

VERIFICATION: Final = "1.2.840.10008.1.1"
# A PACS at its own association limit rejects "transient"; dcmqrscp, for one, frees slots lazily.
_TRANSIENT_RETRY_PAUSES = (0.05, 0.2, 0.5)
_ESTABLISHED = "Sta6"  # the DUL state of an association ready for DIMSE messages
_CLOSED = "Sta1"


@dataclass(eq=False)
class Channel:
    """One established association, as the client holds it (hashable by identity)."""

    assoc: Association = field(repr=False)


@dataclass
class Found:
    """What one C-FIND returned, and whether it ended cleanly enough to reuse the association."""

    matches: list[dict[str, JsonValue]]
    truncated: bool
    clean: bool


@dataclass
class _Probe:
    """What pynetdicom's events told us about an association attempt."""

    connected: bool = False
    connected_at: float = 0.0
    rejection: str | None = None
    transient: bool = False

    def on_open(self, event: evt.Event) -> None:
        self.connected, self.connected_at = True, time.monotonic()
        # pynetdicom leaves Nagle on; small request/response exchanges then stall on delayed ACKs.
        sock = getattr(event.assoc.dul.socket, "socket", None)
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def on_acse(self, event: evt.Event) -> None:
        primitive = event.primitive  # type: ignore[attr-defined]
        result = getattr(primitive, "result", None)
        if result == 0x00:  # accepted: the reactor thread pynetdicom starts next exits at once
            event.assoc._kill = True
        if result in (0x01, 0x02):
            self.rejection = f"{primitive.result_str}, {primitive.source_str}: {primitive.reason_str}"
            self.transient = primitive.result == 0x02

    @staticmethod
    def on_close(event: evt.Event) -> None:
        # Wake the reader blocked on the DIMSE queue: the peer aborted or closed the connection.
        event.assoc.dimse.msg_queue.put((None, None))

    def attempt(self, assoc: Association, target: Target) -> failures.Attempt:
        return failures.Attempt(
            connected=self.connected,
            waited=time.monotonic() - self.connected_at if self.connected else 0.0,
            rejection=self.rejection,
            answered=assoc.acceptor.primitive is not None,
            aborted=bool(assoc.is_aborted),
            contexts_accepted=bool(assoc.accepted_contexts),
            tls=target.tls is not None,
        )


def build_ae(calling_ae_title: str, *, connect: float, acse: float, dimse: float, network: float) -> AE:
    """The one application entity every association is requested from, with every timeout set."""
    ae = AE(ae_title=calling_ae_title)
    ae.connection_timeout, ae.acse_timeout, ae.dimse_timeout, ae.network_timeout = (
        connect,
        acse,
        dimse,
        network,
    )
    ae.maximum_associations = 1024
    for context in (VERIFICATION, PATIENT_ROOT_FIND, STUDY_ROOT_FIND):
        ae.add_requested_context(context)
    return ae


def associate(ae: AE, target: Target, give_up: float) -> Channel:
    """Associate, retrying a transient rejection (a PACS at its association limit) a few times."""
    for pause in (*_TRANSIENT_RETRY_PAUSES, None):
        probe = _Probe()
        handlers: list[Any] = [
            (evt.EVT_CONN_OPEN, probe.on_open),
            (evt.EVT_ACSE_RECV, probe.on_acse),
            (evt.EVT_CONN_CLOSE, probe.on_close),
        ]
        assoc = ae.associate(
            target.host,
            target.port,
            ae_title=target.ae_title,
            evt_handlers=handlers,
            tls_args=tls_arguments(target),
        )
        if assoc.is_established:
            assoc.join(timeout=ae.acse_timeout)  # the reactor thread, already on its way out
            assoc._is_paused = True  # what release() waits for before it negotiates
            return Channel(assoc)
        if not probe.transient or pause is None or time.monotonic() + pause >= give_up:
            raise failures.association_failure(
                target.describe(), probe.attempt(assoc, target), ae.acse_timeout
            )
        time.sleep(pause)
    raise AssertionError("unreachable")  # pragma: no cover


def usable(channel: Channel) -> bool:
    """Established, its DUL thread alive and ready for data, nothing unread on its queue."""
    assoc = channel.assoc
    return bool(
        assoc.is_established
        and assoc.dul.is_alive()
        and assoc.dul.state_machine.current_state == _ESTABLISHED
        and assoc.dimse.msg_queue.empty()
    )


def close(channel: Channel, graceful: bool) -> None:
    """Release (if `graceful`) or abort an association; only stop its DUL if the peer already closed."""
    assoc = channel.assoc
    state = assoc.dul.state_machine.current_state
    with suppress(Exception):  # best effort: the operation's outcome is already decided
        if state == _CLOSED:
            assoc.kill()
        elif state == _ESTABLISHED and graceful:
            assoc.release()
        else:
            assoc.abort()


def abort(channel: Channel) -> None:
    """Abort an association under a running operation, and wake the operation waiting on it."""
    with suppress(Exception):
        channel.assoc.abort()
    channel.assoc.dimse.msg_queue.put((None, None))


def echo(channel: Channel, target: Target, give_up: float, dimse_timeout: float) -> None:
    """One C-ECHO exchange; raises unless it succeeds."""
    assoc = channel.assoc
    context_id, _ = _context(assoc, VERIFICATION, target)
    request = C_ECHO()
    request.MessageID, request.AffectedSOPClassUID = 1, VERIFICATION
    assoc.dimse.send_msg(request, context_id)
    _, status = _next_response(assoc, target, give_up, dimse_timeout, C_ECHO, 1, first=True)
    failures.check_echo_status(status)


def find(
    channel: Channel,
    target: Target,
    query: Query,
    limit: int,
    give_up: float,
    dimse_timeout: float,
    msg_id: int,
) -> Found:
    """One C-FIND exchange, keeping at most `limit` matches (C-CANCEL once one more arrives).

    Raises:
        IdentifierNotEncodable: before anything is sent; the association is still clean.
    """
    assoc = channel.assoc
    context_id, syntax = _context(assoc, query.model, target)
    request = C_FIND()
    request.MessageID, request.AffectedSOPClassUID, request.Priority = msg_id, query.model, 2
    request.Identifier = BytesIO(query.encode(syntax))
    assoc.dimse.send_msg(request, context_id)
    shape = shaper_for(query.return_keys)
    matches: list[dict[str, JsonValue]] = []
    truncated = False
    while True:
        response, status = _next_response(
            assoc, target, give_up, dimse_timeout, C_FIND, msg_id, first=not matches
        )
        if status not in failures.PENDING:
            failures.check_find_status(status, cancelled=truncated)
            return Found(matches, truncated, status in (failures.SUCCESS, failures.CANCEL))
        if response.Identifier is None:
            continue
        if len(matches) < limit:
            matches.append(_shaped(shape, response.Identifier, syntax))
        elif not truncated:
            # One match beyond the limit proves there are more: stop the PACS.
            truncated = True
            assoc.send_c_cancel(msg_id, context_id=context_id)


def _next_response(
    assoc: Association,
    target: Target,
    give_up: float,
    dimse_timeout: float,
    kind: type[R],
    msg_id: int,
    first: bool,
) -> tuple[R, int]:
    """The next DIMSE message, which must answer `msg_id`, and its status; waits no longer than
    either timeout."""
    where = target.describe()
    remaining = give_up - time.monotonic()
    try:
        _, response = assoc.dimse.msg_queue.get(timeout=max(min(dimse_timeout, remaining), 0.0))
    except queue.Empty:
        raise failures.silent(
            where, deadline_reached=remaining <= dimse_timeout, dimse_timeout=dimse_timeout
        ) from None
    if response is None:  # put there by _Probe.on_close, or by abort()
        raise failures.closed(where, before_any_answer=first)
    if not isinstance(response, kind) or response.MessageIDBeingRespondedTo != msg_id:
        raise failures.stray_message(where)
    if response.Status is None:
        raise failures.no_status(where)
    return response, int(response.Status)


def _shaped(shape: Shaper, identifier: BytesIO, syntax: UID) -> dict[str, JsonValue]:
    if syntax.is_little_endian and not syntax.is_deflated:
        return shape.from_bytes(identifier.getvalue(), syntax.is_implicit_VR)
    return shape(decode(identifier, syntax.is_implicit_VR, syntax.is_little_endian, syntax.is_deflated))


def _context(assoc: Association, abstract_syntax: str, target: Target) -> tuple[int, UID]:
    """The ID and transfer syntax of the accepted presentation context for `abstract_syntax`."""
    for context in assoc.accepted_contexts:
        if context.abstract_syntax == abstract_syntax and context.context_id is not None:
            return context.context_id, context.transfer_syntax[0]
    raise failures.service_not_accepted(target.describe(), abstract_syntax)
