"""The receiver: a Storage SCP for the instances a C-MOVE sends back to this service.

Some PACS offer no C-GET; they are read by a C-MOVE whose destination is this service's own
AE title, and their instances come back on associations the PACS opens to the receiver. Each
C-STORE of a C-MOVE carries the Move Originator AE title and Message ID of the C-MOVE that caused
it (PS3.7 C.4.2.1.4): a retrieval waiting here (`Waits`) is found by that Message ID, which is
unique among the retrievals in flight, and takes only the SOP Instance UIDs it asked for. The
originator must be this service's AE title, or the moving PACS's own (pynetdicom-based PACS
name themselves there). Both fields are optional in the standard: a C-STORE without them goes to
the one retrieval that asked for its SOP Instance UID, if exactly one did.

    refused association   the peer's address is not one of the configured PACS' (A-ASSOCIATE-RJ)
    refused C-STORE       no retrieval waits for it, or it was not asked for (0x0124, not kept)
    out of resources      past the waiting call's byte budget (0xA700; the C-MOVE is then cancelled)

Instances stay in memory as encoded bytes (`model.instances`), never on disk, counted against
the waiting call's budget as for C-GET. Every refusal is counted by reason (`refusals`), for the
metrics; nothing about an instance is logged.

A header-only retrieval (get_instance_metadata) takes an instance too large for its budget up
to its pixel data, as a header-only C-GET does (`scu/responses.py`): the rest of that C-STORE
is dropped and the PACS's association aborted, so the PACS counts the sub-operation failed; the
retrieval has its header all the same. A frame read (render_image, viewer_frames) takes such an
instance with only the frames it asked for (`scu/frames.py`), and the association goes on. Only
the replica whose retrieval waits can do either: one that would hand the instance on (`_forward`)
takes it whole or refuses it at the cap.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, Final

from pydicom.uid import ExplicitVRLittleEndian
from pynetdicom import AE, evt
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from dicom_mcp.dimse.receiver_reader import StoreReader
from dicom_mcp.dimse.scu.association import RETRIEVE_MAX_PDU
from dicom_mcp.dimse.scu.frames import kept
from dicom_mcp.dimse.scu.retrieve import COMMAND_SLACK, STORED_SYNTAXES, sop_uid_of
from dicom_mcp.dimse.waits import (
    CANNOT_UNDERSTAND,
    NOT_AUTHORIZED,
    OUT_OF_RESOURCES,
    PULL_SECONDS,
    SUCCESS,
    Waiter,
    Waits,
)
from dicom_mcp.errors import DicomError, StoreError
from dicom_mcp.model.sopclasses import COMMON_STORAGE, REPORT_CLASSES
from dicom_mcp.pacs.budget import too_large
from dicom_mcp.state.moves import MoveRelay

MAX_ASSOCIATIONS: Final = 32
FRAMES_BY_MOVE: Final = (
    "read frame by frame from the C-MOVE's C-STORE to the receiver (the instance is larger than the byte cap)"
)

logger = logging.getLogger(__name__)


class Receiver:
    """A running Storage SCP for C-MOVE results (see the module docstring)."""

    def __init__(
        self,
        ae_title: str,
        host: str,
        port: int,
        allowed: frozenset[str],
        max_bytes: int,
        relay: MoveRelay | None = None,
    ) -> None:
        """
        Args:
            ae_title: this service's AE title, which PACS know as the move destination.
            allowed: the addresses associations are accepted from (the configured PACS').
            max_bytes: the most one C-STORE may bring (the per-call byte cap).
            relay: hands instances to the replica that waits for them (Redis), if there are replicas.
        """
        self.ae_title = ae_title
        self.host = host
        self.port = port
        self.allowed = allowed
        self.relay = relay
        self.waits = Waits(relay)
        self._max_bytes = max_bytes
        self._refusals: Counter[str] = Counter()
        self._instances: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server: Any = None

    def start(self) -> None:
        """Listen (port 0: a free one, then `port` says which)."""
        ae = AE(ae_title=self.ae_title)
        ae.maximum_associations = MAX_ASSOCIATIONS
        ae.maximum_pdu_size = RETRIEVE_MAX_PDU  # instances arrive in fewer, larger pieces
        ae.add_supported_context(Verification)
        for sop_class in sorted({*COMMON_STORAGE, *REPORT_CLASSES}):
            ae.add_supported_context(sop_class, list(STORED_SYNTAXES))
        handlers: list[Any] = [
            (evt.EVT_REQUESTED, self._on_requested),
            (evt.EVT_C_STORE, self._on_store),
        ]
        self._server = ae.start_server((self.host, self.port), block=False, evt_handlers=handlers)
        self.port = int(self._server.server_address[1])
        logger.info("receiver %s listening on %s:%d for C-MOVE results", self.ae_title, self.host, self.port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None
        if self.relay is not None:
            self.relay.close()

    def accepts(self, host: str) -> bool:
        """Whether C-STOREs from `host` (a PACS's address or name) would be accepted."""
        return bool(addresses_of([host]) & self.allowed)

    @property
    def refusals(self) -> dict[str, int]:
        """Refused associations and instances since start, by reason."""
        with self._lock:
            return dict(self._refusals)

    @property
    def instances(self) -> dict[str, int]:
        """Instances taken since start: "kept" here, "handed on" to another replica, "from another replica"."""
        with self._lock:
            return dict(self._instances)

    def refuse(self, reason: str) -> None:
        with self._lock:
            self._refusals[reason] += 1

    def took(self, path: str) -> None:
        with self._lock:
            self._instances[path] += 1

    def _on_requested(self, event: evt.Event) -> None:
        address = str(event.assoc.requestor.address)
        parsed = ipaddress.ip_address(address.split("%", maxsplit=1)[0])
        if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
            address = str(parsed.ipv4_mapped)
        if address not in self.allowed:
            self.refuse("host")
            logger.warning("receiver: refused an association from an address no configured PACS has")
            event.assoc.acse.send_reject(0x01, 0x01, 0x03)  # rejected-permanent, by the service user
            return
        # What one message may bring before it is complete: the per-call cap (hardening's bound).
        event.assoc.dimse.byte_limit = lambda: self._max_bytes + COMMAND_SLACK  # type: ignore[attr-defined]
        event.assoc.dimse.on_over_limit = self._over_limit  # type: ignore[attr-defined]
        event.assoc.dimse.header_only = StoreReader(self, event.assoc)  # type: ignore[attr-defined]

    def waiter_for(self, command: Any) -> Waiter | None:
        """The retrieval here a C-STORE-RQ (its command set) is for, if one waits for it on this replica."""
        originator = _text(getattr(command, "MoveOriginatorApplicationEntityTitle", None))
        message_id = int(getattr(command, "MoveOriginatorMessageID", 0) or 0)
        waiter = self.waits.find(message_id)
        if not originator and not message_id:
            waiter = self.waits.expecting(sop_uid_of(command))
            originator = waiter.source if waiter is not None else ""
        if waiter is None or originator not in (self.ae_title, waiter.source):
            return None
        return waiter

    def _over_limit(self, command: Any) -> None:
        """A C-STORE passed the per-call cap before it was whole: its retrieval is too large."""
        self.refuse("too large")
        waiter = self.waits.find(int(getattr(command, "MoveOriginatorMessageID", 0) or 0))
        if waiter is not None:
            waiter.fail(too_large(f"receiver {self.ae_title}", waiter.budget.cap))

    def _on_store(self, event: evt.Event) -> int:
        request = event.request
        if not isinstance(request, C_STORE):
            return CANNOT_UNDERSTAND
        originator = _text(request.MoveOriginatorApplicationEntityTitle)
        message_id = int(request.MoveOriginatorMessageID or 0)
        data = request.DataSet.getvalue() if request.DataSet is not None else b""
        syntax = str(event.context.transfer_syntax or ExplicitVRLittleEndian)
        sop_uid = str(request.AffectedSOPInstanceUID or "")
        waiter = self.waits.find(message_id)
        if not originator and not message_id:  # the Move Originator fields are optional (PS3.7)
            waiter = self.waits.expecting(sop_uid)
            originator = waiter.source if waiter is not None else ""
        if waiter is None and originator and self.relay is not None:
            return self._forward(message_id, originator, sop_uid, syntax, data)
        if waiter is None or originator not in (self.ae_title, waiter.source):
            self.refuse("not awaited")
            return NOT_AUTHORIZED
        status = waiter.take(
            sop_uid, data, syntax, f"receiver {self.ae_title}", kept(request, FRAMES_BY_MOVE)
        )
        if status == NOT_AUTHORIZED:
            self.refuse("not asked for")
        elif status == SUCCESS:
            self.took("kept")
        return status

    def _forward(self, message_id: int, originator: str, sop_uid: str, syntax: str, data: bytes) -> int:
        """Hand an instance to the replica whose retrieval waits for it."""
        assert self.relay is not None
        try:
            if originator != self.ae_title and originator not in self.relay.sources(message_id):
                self.refuse("not awaited")
                return NOT_AUTHORIZED
            forwarded = self.relay.forward(message_id, sop_uid, syntax, data)
        except StoreError:
            self.refuse("store unavailable")
            return OUT_OF_RESOURCES
        if forwarded == "kept":
            self.took("handed on")
            return SUCCESS
        self.refuse(forwarded)
        return OUT_OF_RESOURCES if forwarded == "too large" else NOT_AUTHORIZED

    @contextmanager
    def collecting(self, waiter: Waiter) -> Iterator[None]:
        """While inside, take what other replicas forward to `waiter` (nothing to do without a relay)."""
        relay = self.relay
        if relay is None:
            yield
            return
        done = threading.Event()

        def pull() -> None:
            while not done.is_set():
                try:
                    got = relay.pull(waiter.message_id, PULL_SECONDS)
                except (StoreError, DicomError) as exc:
                    waiter.fail(exc)
                    return
                if got is not None:
                    sop_uid, syntax, data = got
                    status = waiter.take(sop_uid, data, syntax, f"receiver {self.ae_title} (via Redis)")
                    if status == NOT_AUTHORIZED:  # the other replica answered 0x0000: count it as came
                        waiter.fail_one()
                    elif status == SUCCESS:
                        self.took("from another replica")

        puller = threading.Thread(target=pull, name="dicom-mcp-move-pull", daemon=True)
        puller.start()
        try:
            yield
        finally:
            done.set()
            with suppress(StoreError):  # else the puller ends at its next timeout
                relay.wake(waiter.message_id)
            puller.join(timeout=PULL_SECONDS + 5)


def _text(value: object) -> str:
    """An AE title as pynetdicom hands it (str, or bytes with padding), stripped."""
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return str(value or "").strip()


def addresses_of(hosts: Iterable[str]) -> frozenset[str]:
    """The IP addresses `hosts` resolve to (a name that does not resolve is skipped, and said so)."""
    found: set[str] = set()
    for host in hosts:
        try:
            found |= {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
        except OSError:
            logger.warning("receiver: a configured PACS host does not resolve; its C-STOREs will be refused")
    return frozenset(found)
