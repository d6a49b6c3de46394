"""Associations: open one (retrying a PACS at its limit), check it, release or abort it.

An association is handed out as an opaque `Channel`. Its reactor thread is stopped as soon as
it is accepted: it only polled and, when resumed between operations, could take a response off
the DIMSE queue before the operation waiting for it saw it (pynetdicom issue 875). Here the
operation's own thread is the queue's only reader (`exchange.py`).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, Final

from pynetdicom import AE, evt
from pynetdicom.association import Association
from pynetdicom.pdu_primitives import SCP_SCU_RoleSelectionNegotiation
from pynetdicom.presentation import PresentationContext

from dicom_mcp.dimse import failures
from dicom_mcp.dimse.tls import tls_arguments
from dicom_mcp.model.queries import PATIENT_ROOT_FIND, STUDY_ROOT_FIND
from dicom_mcp.model.target import Target

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


# The most we ask a PACS to put in one PDU: 1 MiB for retrievals (Orthanc then sends 128 KiB, its
# own cap), pynetdicom's 16 KiB otherwise. The reactor refuses any PDU over 16 MiB whatever we say.
RETRIEVE_MAX_PDU: Final = 1 << 20
DEFAULT_MAX_PDU: Final = 16382


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


def associate(
    ae: AE,
    target: Target,
    give_up: float,
    contexts: Sequence[PresentationContext] | None = None,
    roles: Sequence[SCP_SCU_RoleSelectionNegotiation] = (),
) -> Channel:
    """Associate, retrying a transient rejection (a PACS at its association limit) a few times.

    Without `contexts`, the AE's own (verification and the C-FIND models) are proposed.
    """
    for pause in (*_TRANSIENT_RETRY_PAUSES, None):
        probe = _Probe()
        handlers: list[Any] = [
            (evt.EVT_CONN_OPEN, probe.on_open),
            (evt.EVT_ACSE_RECV, probe.on_acse),
            (evt.EVT_CONN_CLOSE, probe.on_close),
        ]
        try:
            assoc = ae.associate(
                target.host,
                target.port,
                contexts=list(contexts) if contexts is not None else None,
                ae_title=target.ae_title,
                ext_neg=list(roles) or None,
                evt_handlers=handlers,
                # Retrievals receive instances: larger PDUs mean fewer pieces to gather (PS3.8 9.3.1).
                max_pdu=RETRIEVE_MAX_PDU if contexts is not None else DEFAULT_MAX_PDU,
                tls_args=tls_arguments(target),
            )
        except socket.gaierror as exc:  # pynetdicom resolves the name before its own error handling
            raise failures.unresolvable(target.describe(), exc.strerror) from None
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
        if state == _CLOSED or getattr(assoc.dimse, "hung_up", False):  # responses.py aborted it
            assoc.kill()
        elif state == _ESTABLISHED and graceful:
            assoc.release()
        else:
            assoc.abort()


def stopped(channel: Channel) -> bool:
    """Whether a message was cut short or refused on it (`responses.py`): it can only be aborted."""
    return bool(getattr(channel.assoc.dimse, "stopped", False))


def abort(channel: Channel) -> None:
    """Abort an association under a running operation, and wake the operation waiting on it."""
    with suppress(Exception):
        channel.assoc.abort()
    channel.assoc.dimse.msg_queue.put((None, None))
