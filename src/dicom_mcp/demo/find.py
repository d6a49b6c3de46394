"""What the sample PACS answers: C-FIND matches, and the instances a C-GET or C-MOVE sends.

Queries are relational, as Orthanc's are: a key of any level at or above the query level
filters (a series query may name a patient), and a key of a level below matches nothing but
the universal value and comes back empty. Every answer carries the query level's unique key,
QueryRetrieveLevel, RetrieveAETitle and Specific Character Set ISO_IR 192: answers are UTF-8,
whatever the stored instances or the query used (Orthanc does the same).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag, Tag

from dicom_mcp.demo.index import LEVELS, UNIQUE_KEY, Entity, Index
from dicom_mcp.demo.matching import matches, texts

PATIENT_ROOT_FIND: Final = "1.2.840.10008.5.1.4.1.2.1.1"
STUDY_ROOT_FIND: Final = "1.2.840.10008.5.1.4.1.2.2.1"
PATIENT_ROOT_GET: Final = "1.2.840.10008.5.1.4.1.2.1.3"
STUDY_ROOT_GET: Final = "1.2.840.10008.5.1.4.1.2.2.3"
PATIENT_ROOT_MOVE: Final = "1.2.840.10008.5.1.4.1.2.1.2"
STUDY_ROOT_MOVE: Final = "1.2.840.10008.5.1.4.1.2.2.2"
STUDY_ROOT_MODELS: Final = frozenset({STUDY_ROOT_FIND, STUDY_ROOT_GET, STUDY_ROOT_MOVE})

# C-FIND, C-GET and C-MOVE statuses (PS3.4 C.4.1.1.4, C.4.2.1.5, C.4.3.1.4).
PENDING: Final = 0xFF00
CANCEL: Final = 0xFE00
IDENTIFIER_DOES_NOT_MATCH: Final = 0xA900
UNABLE_TO_PROCESS: Final = 0xC000

ANSWER_CHARSET: Final = "ISO_IR 192"
# Elements of an identifier that steer the query rather than match.
_CONTROL: Final = frozenset(
    Tag(keyword)
    for keyword in ("SpecificCharacterSet", "QueryRetrieveLevel", "RetrieveAETitle", "InstanceAvailability")
)
_TEXT_VRS: Final = frozenset({"AE", "AS", "CS", "DA", "DT", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UT"})


class Refused(Exception):
    """The identifier cannot be answered; `status` is the DIMSE status to send."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def level_of_request(identifier: Dataset, model: str) -> str:
    """The identifier's QueryRetrieveLevel, checked against the information model.

    Raises:
        Refused: no or an unknown level, or PATIENT in the Study Root model (which has none).
    """
    level = str(identifier.get("QueryRetrieveLevel", "") or "").strip().upper()
    if level not in LEVELS:
        raise Refused(UNABLE_TO_PROCESS, "no or an unknown Query/Retrieve Level")
    if level == "PATIENT" and model in STUDY_ROOT_MODELS:
        raise Refused(IDENTIFIER_DOES_NOT_MATCH, "the Study Root model has no PATIENT level")
    return level


@dataclass(frozen=True)
class Query:
    """One identifier, read: its level and its keys (every public attribute but the steering ones)."""

    level: str
    keys: tuple[DataElement, ...]

    @classmethod
    def read(cls, identifier: Dataset, model: str) -> Query:
        """Raises: Refused, see `level_of_request`."""
        level = level_of_request(identifier, model)
        keys = tuple(
            element
            for element in identifier
            if element.tag not in _CONTROL and not element.tag.is_private and element.tag.element != 0
        )
        return cls(level, keys)

    def names(self, keyword: str) -> bool:
        """Whether the query gives a value (not only universal matching) for `keyword`."""
        tag = Tag(keyword)
        return any(key.tag == tag and texts(key) for key in self.keys)

    def matches(self, index: Index) -> Iterator[Entity]:
        """The entities of the query's level that match all of its keys, in the index's order."""
        for entity in index.entities(self.level):
            if all(matches(key, entity.element(key.tag)) for key in self.keys):
                yield entity

    def answer(self, entity: Entity, retrieve_ae_title: str) -> Dataset:
        """The C-FIND response identifier for one match: the keys asked for, with the entity's values."""
        ds = Dataset()
        ds.SpecificCharacterSet = ANSWER_CHARSET
        ds.QueryRetrieveLevel = entity.level
        ds.RetrieveAETitle = retrieve_ae_title
        unique = Tag(UNIQUE_KEY[entity.level])
        for key in self.keys:
            ds.add(_returned(key.tag, key.VR, entity.element(key.tag)))
        if unique not in ds:
            ds.add(_returned(unique, "LO" if entity.level == "PATIENT" else "UI", entity.element(unique)))
        return ds


def _returned(tag: BaseTag, vr: str, stored: DataElement | None) -> DataElement:
    """The element to return: the stored value (text as str, re-encoded in UTF-8 on the way out)."""
    if stored is None or stored.value is None:
        return DataElement(tag, vr if vr != "UN" else "OB", None)
    value = stored.value
    if stored.VR in _TEXT_VRS:
        value = [str(v) for v in value] if isinstance(value, MultiValue | list) else str(value)
    return DataElement(tag, stored.VR, value)


def to_retrieve(index: Index, identifier: Dataset, model: str) -> list[Dataset]:
    """The instances a C-GET or C-MOVE of `identifier` sends: every instance under each match, each once.

    Raises:
        Refused: see `level_of_request`, or the identifier names no unique key of its level.
    """
    query = Query.read(identifier, model)
    unique = UNIQUE_KEY[query.level]
    if not query.names(unique):
        raise Refused(IDENTIFIER_DOES_NOT_MATCH, f"a {query.level} retrieve needs {unique}")
    chosen: dict[str, Dataset] = {}
    for entity in query.matches(index):
        chosen.update((instance.uid, instance.sample) for instance in entity.instances())
    return list(chosen.values())
