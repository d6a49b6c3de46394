"""The query/retrieve levels of DICOM's hierarchy, top to bottom, as the tools name them."""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Level(StrEnum):
    """A C-FIND query/retrieve level, named as the tools name it."""

    PATIENT = "patient"
    STUDY = "study"
    SERIES = "series"
    INSTANCE = "instance"


ORDER: Final = (Level.PATIENT, Level.STUDY, Level.SERIES, Level.INSTANCE)

# Each level as a Query/Retrieve Level (0008,0052) value: PS3.4 C.6 calls the instance level IMAGE.
WIRE_LEVEL: Final = {
    Level.PATIENT: "PATIENT",
    Level.STUDY: "STUDY",
    Level.SERIES: "SERIES",
    Level.INSTANCE: "IMAGE",
}

# The tool that queries each level, for messages that point a caller to the right one.
TOOL: Final = {
    Level.PATIENT: "query_patients",
    Level.STUDY: "query_studies",
    Level.SERIES: "query_series",
    Level.INSTANCE: "query_instances",
}


def below(level: Level, other: Level) -> bool:
    """Whether `level` lies below `other` in the hierarchy."""
    return ORDER.index(level) > ORDER.index(other)
