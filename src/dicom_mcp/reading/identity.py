"""The identifying facts an instance carries, for the pseudonymised view's boundary.

The boundary replaces these wherever they appear in an answer (descriptions, report text,
error messages) and decides from the image facts whether pixels may be shown
(`dicom_mcp.privacy.pixels`). Made in the sandbox worker, from the parsed dataset.
"""

from __future__ import annotations

from typing import Any, Final

from pydicom.dataset import Dataset

from dicom_mcp.reading.attributes import DATASET_ERRORS, text, values

MAX_NAMES: Final = 200
_TEXTS: Final = (
    "PatientID",
    "PatientName",
    "PatientBirthDate",
    "AccessionNumber",
    "StudyID",
    "StudyDate",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "SOPInstanceUID",
    "SOPClassUID",
    "Modality",
    "BurnedInAnnotation",
)


def identity(ds: Dataset) -> dict[str, Any]:
    """The instance's identifiers, every person name in it, and the facts about its pixels."""
    facts: dict[str, Any] = {keyword: text(ds, keyword) for keyword in _TEXTS}
    facts["OtherPatientIDs"] = [str(v) for v in values(ds, "OtherPatientIDs")]
    facts["ImageType"] = [str(v) for v in values(ds, "ImageType")]
    groups = {int(tag) >> 16 for tag in list(ds.keys())}
    facts["overlays"] = any(0x6000 <= group <= 0x601E and group % 2 == 0 for group in groups)
    facts["names"] = person_names(ds)
    return facts


def person_names(ds: Dataset) -> list[str]:
    """Every person name value in the dataset, its sequences included (at most MAX_NAMES)."""
    found: list[str] = []
    try:
        for element in ds.iterall():
            if len(found) >= MAX_NAMES:
                break
            if element.VR == "PN" and element.value:
                names = list(element.value) if element.VM > 1 else [element.value]
                found.extend(str(name) for name in names if str(name))
    except DATASET_ERRORS:
        pass  # an unreadable element: the names found so far stand
    return found[:MAX_NAMES]
