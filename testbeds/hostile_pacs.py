"""A hostile Q/R SCP: real pynetdicom on a loopback port, serving a catalogue of chosen instances.

C-FIND answers at the STUDY, SERIES and IMAGE levels from the catalogue, so the service's
look-ups find what a test put there. A C-GET sends, for each listed instance it matches, what
its `Listed` entry says: by default the instance itself, and optionally other instances
before it (another patient's, another study's) or instead of it. A payload that is a Part 10
file goes out as it is encoded, streamed from disk in PDU-sized chunks (pynetdicom's
STORE_SEND_CHUNKED_DATASET): a deflate bomb stays a bomb, a 1 GiB dataset never sits in
memory. Requests are counted, so a test can say that nothing was asked or retrieved.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pynetdicom import AE, _config, evt
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    PatientRootQueryRetrieveInformationModelFind,
    PatientRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
    Verification,
)

from dicom_mcp.dimse.scu.retrieve import STORED_SYNTAXES
from testbeds.bombs import Instance
from testbeds.faults import stop_server

# Every syntax the service proposes for a C-GET: whatever a payload is encoded in finds its context.
SYNTAXES = STORED_SYNTAXES
_PENDING, _SUCCESS, _CANCELLED = 0xFF00, 0x0000, 0xFE00
_UNIQUE_KEYS = (("StudyInstanceUID", "study"), ("SeriesInstanceUID", "series"), ("SOPInstanceUID", "sop"))


@dataclass(frozen=True)
class Listed:
    """One catalogue entry: the instance C-FIND lists, and what a C-GET of it sends, in order."""

    instance: Instance
    sends: tuple[Instance, ...]


def listed(instance: Instance, *, before: Iterable[Instance] = (), instead: Instance | None = None) -> Listed:
    """List `instance`; a C-GET sends `before` first, then `instead` if given, else the instance."""
    return Listed(instance, (*before, instead or instance))


@dataclass
class HostilePacs:
    """A running hostile SCP and what it was asked."""

    host: str
    port: int
    ae_title: str
    catalogue: list[Listed] = field(repr=False)
    # "C-FIND <level>", "C-GET", and the C-GETs' C-STOREs: "C-STORE answered" or "C-STORE failed"
    tally: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def env(self) -> dict[str, str]:
        """The service's default-PACS settings pointing at this SCP."""
        return {
            "DICOM_HOST": self.host,
            "DICOM_PORT": str(self.port),
            "DICOM_CALLED_AE_TITLE": self.ae_title,
        }

    @property
    def finds(self) -> int:
        return sum(n for what, n in self.tally.items() if what.startswith("C-FIND"))

    @property
    def gets(self) -> int:
        return self.tally["C-GET"]

    def note(self, what: str) -> None:
        with self._lock:
            self.tally[what] += 1


def _wanted(identifier: Dataset, instance: Instance) -> bool:
    """True if `instance` matches the identifier's unique keys (each a UID or a list of UIDs)."""
    for keyword, attribute in _UNIQUE_KEYS:
        value = identifier.get(keyword)
        if value in (None, "", "*"):
            continue
        asked = {str(v) for v in value} if isinstance(value, MultiValue | list) else {str(value)}
        if getattr(instance.place, attribute) not in asked:
            return False
    return True


def _answer(identifier: Dataset, level: str, instance: Instance, instances: int) -> Dataset:
    """The match for `instance` at `level`: the keys the identifier asked for that we can fill."""
    values: dict[str, Any] = {
        "StudyInstanceUID": instance.place.study,
        "PatientID": "HOSTILE1",
        "Modality": instance.modality,
        "ModalitiesInStudy": instance.modality,
    }
    if level in ("SERIES", "IMAGE"):
        values |= {
            "SeriesInstanceUID": instance.place.series,
            "SeriesNumber": 1,
            "SeriesDescription": "hostile",
            "NumberOfSeriesRelatedInstances": instances,
        }
    if level == "IMAGE":
        values |= {
            "SOPInstanceUID": instance.place.sop,
            "SOPClassUID": instance.sop_class,
            "InstanceNumber": instance.number,
        }
    match = Dataset()
    match.QueryRetrieveLevel = level
    for elem in identifier:
        if elem.keyword in values:
            setattr(match, elem.keyword, values[elem.keyword])
    return match


def _matches(pacs: HostilePacs, identifier: Dataset) -> Iterator[Dataset]:
    """One match per study, series or instance of the catalogue, as the query's level says."""
    level = str(identifier.get("QueryRetrieveLevel", ""))
    wanted = [entry.instance for entry in pacs.catalogue if _wanted(identifier, entry.instance)]
    depth = {"PATIENT": 1, "STUDY": 1, "SERIES": 2}.get(level, 3)
    seen: dict[tuple[str, ...], Instance] = {}
    per_series = Counter(i.place.series for i in wanted)
    for instance in wanted:
        key = (instance.place.study, instance.place.series, instance.place.sop)[:depth]
        seen.setdefault(key, instance)
    for instance in seen.values():
        yield _answer(identifier, level, instance, per_series[instance.place.series])


def _send(pacs: HostilePacs, event: evt.Event, instance: Instance, message_id: int) -> bool:
    """C-STORE `instance` on the C-GET's association; False once the association is gone."""
    if not event.assoc.is_established:
        return False
    payload = instance.payload if isinstance(instance.payload, Dataset) else str(instance.payload)
    try:
        event.assoc.send_c_store(payload, msg_id=message_id)
        pacs.note("C-STORE answered")
    except Exception:  # a dataset pynetdicom cannot encode, or the service hung up
        pacs.note("C-STORE failed")
    return bool(event.assoc.is_established)


@contextmanager
def run_hostile_pacs(entries: Iterable[Listed], ae_title: str = "HOSTILE") -> Iterator[HostilePacs]:
    """Serve `entries` on a free loopback port until the block ends."""
    catalogue = list(entries)
    ae = AE(ae_title=ae_title)
    ae.maximum_associations = 16
    for context in (
        Verification,
        PatientRootQueryRetrieveInformationModelFind,
        StudyRootQueryRetrieveInformationModelFind,
        PatientRootQueryRetrieveInformationModelGet,
        StudyRootQueryRetrieveInformationModelGet,
    ):
        ae.add_supported_context(context)
    classes = {i.sop_class for entry in catalogue for i in (entry.instance, *entry.sends)}
    for sop_class in sorted(classes):
        # The instances go back as C-STOREs on the C-GET's association: this SCP is their SCU.
        ae.add_supported_context(sop_class, list(SYNTAXES), scu_role=True, scp_role=True)
    pacs = HostilePacs("127.0.0.1", 0, ae_title, catalogue)

    def on_find(event: evt.Event) -> Iterator[tuple[int, Dataset | None]]:
        identifier = event.identifier
        pacs.note(f"C-FIND {identifier.get('QueryRetrieveLevel', '')}")
        for match in _matches(pacs, identifier):
            yield _PENDING, match
        yield _SUCCESS, None

    def on_get(event: evt.Event) -> Iterator[int | tuple[int, Dataset | None]]:
        pacs.note("C-GET")
        identifier = event.identifier
        sends = [i for entry in catalogue if _wanted(identifier, entry.instance) for i in entry.sends]
        # pynetdicom sends nothing for a count of 0; the stores go out here, by path or dataset.
        yield len(sends)
        for number, instance in enumerate(sends, start=int(event.request.MessageID or 0) + 1):
            if event.is_cancelled:
                yield _CANCELLED, None
                return
            if not _send(pacs, event, instance, number % 65536):
                return
        yield _SUCCESS, None

    handlers: list[Any] = [
        (evt.EVT_C_FIND, on_find),
        (evt.EVT_C_GET, on_get),
        (evt.EVT_C_ECHO, lambda event: 0),
    ]
    chunked = _config.STORE_SEND_CHUNKED_DATASET
    # Send a Part 10 file's dataset as it is encoded, read in chunks, not decoded and re-encoded.
    _config.STORE_SEND_CHUNKED_DATASET = True
    server = ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=handlers)
    assert server is not None  # block=False returns the running server
    pacs.port = server.server_address[1]
    try:
        yield pacs
    finally:
        stop_server(server)
        _config.STORE_SEND_CHUNKED_DATASET = chunked
