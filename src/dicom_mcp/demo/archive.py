"""The sample archive: a loopback Storage SCP for the sample PACS to move to, which keeps nothing.

`--demo` starts it beside the sample PACS, which knows it as the move destination
SAMPLE-ARCHIVE, so that move_study and move_series have somewhere to send the sample data. It
accepts the SOP classes it is started with, in any transfer syntax, and answers every C-STORE
with Success without decoding it: no file, no dataset, not even a UID is kept, only counts. It
logs one line per association that stored something (who sent, how many), never what.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, evt
from pynetdicom.association import Association
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from dicom_mcp.demo.scp import LOOPBACK, check_loopback
from dicom_mcp.demo.sending import no_delay

logger = logging.getLogger(__name__)

ARCHIVE_AE_TITLE: Final = "SAMPLE-ARCHIVE"
MAX_ASSOCIATIONS: Final = 8
SUCCESS: Final = 0x0000


@dataclass
class Tally:
    """Instances stored, in all and on each open association; safe to update from pynetdicom's threads."""

    stored: int = 0
    _open: dict[Association, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, assoc: Association) -> None:
        with self._lock:
            self.stored += 1
            self._open[assoc] = self._open.get(assoc, 0) + 1

    def close(self, assoc: Association) -> tuple[int, int] | None:
        """What `assoc` stored, and the total so far; None if it stored nothing."""
        with self._lock:
            count = self._open.pop(assoc, None)
            return None if count is None else (count, self.stored)


@dataclass
class SampleArchive:
    """A running sample archive: where to reach it, how many instances it has taken, and `stop()`."""

    host: str
    port: int
    ae_title: str
    tally: Tally = field(repr=False)
    _server: Any = field(repr=False)

    @property
    def stored(self) -> int:
        """Instances stored since it started (and then forgotten)."""
        return self.tally.stored

    def describe(self) -> str:
        """e.g. `SAMPLE-ARCHIVE@127.0.0.1:40322 (loopback only, keeps nothing)`."""
        return f"{self.ae_title}@{self.host}:{self.port} (loopback only, keeps nothing)"

    def stop(self) -> None:
        """Close the listening socket and every association (idempotent)."""
        self._server.shutdown()

    def __enter__(self) -> SampleArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_sample_archive(
    sop_classes: Iterable[str], host: str = LOOPBACK, port: int = 0, ae_title: str = ARCHIVE_AE_TITLE
) -> SampleArchive:
    """Accept C-STOREs of `sop_classes` (and C-ECHO) on `host`:`port` (0: a free port) until `stop()`.

    Raises:
        NotLoopback: see `check_loopback`; checked before anything is bound.
    """
    check_loopback(host)
    ae = AE(ae_title=ae_title)
    ae.require_called_aet = True
    ae.maximum_associations = MAX_ASSOCIATIONS
    ae.add_supported_context(Verification)
    for sop_class in sorted(set(sop_classes)):
        ae.add_supported_context(sop_class, ALL_TRANSFER_SYNTAXES)
    tally = Tally()
    handlers: list[Any] = [
        (evt.EVT_CONN_OPEN, no_delay),
        (evt.EVT_C_STORE, _on_store, [tally]),
        (evt.EVT_CONN_CLOSE, _on_close, [tally, ae_title]),
    ]
    server = ae.start_server((host, port), block=False, evt_handlers=handlers)
    if server is None:  # pragma: no cover - only a blocking start returns None
        raise RuntimeError("pynetdicom returned no server")
    bound = int(server.server_address[1])
    logger.info("sample archive %s listening on %s:%d", ae_title, host, bound)
    return SampleArchive(host, bound, ae_title, tally, server)


def _on_store(event: evt.Event, tally: Tally) -> int:
    # Never event.dataset: decoding it would be the first step towards keeping it.
    tally.note(event.assoc)
    return SUCCESS


def _on_close(event: evt.Event, tally: Tally, ae_title: str) -> None:
    closed = tally.close(event.assoc)
    if closed is not None:
        count, total = closed
        sender = event.assoc.requestor.ae_title
        logger.info(
            "sample archive %s: %s stored %d instances and closed; %d since start, none kept",
            ae_title,
            sender,
            count,
            total,
        )
