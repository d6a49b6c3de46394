"""What a C-GET or C-MOVE asks for: a study, a series or one instance, by its UIDs.

A strict PACS wants the whole hierarchy in the identifier (study, series and instance UIDs down
to the level asked for); `pacs/locate.py` finds missing parent UIDs by C-FIND first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from pydicom.dataset import Dataset

STUDY_ROOT_GET: Final = "1.2.840.10008.5.1.4.1.2.2.3"
STUDY_ROOT_MOVE: Final = "1.2.840.10008.5.1.4.1.2.2.2"


@dataclass(frozen=True)
class Keys:
    """The UIDs of what to retrieve; the level is the lowest one given."""

    study: str
    series: str | None = None
    instance: str | None = None

    @property
    def level(self) -> str:
        if self.instance:
            return "IMAGE"
        return "SERIES" if self.series else "STUDY"

    def identifier(self) -> Dataset:
        ds = Dataset()
        ds.QueryRetrieveLevel = self.level
        ds.StudyInstanceUID = self.study
        if self.series:
            ds.SeriesInstanceUID = self.series
        if self.instance:
            ds.SOPInstanceUID = self.instance
        return ds
