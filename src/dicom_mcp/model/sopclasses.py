"""Storage SOP classes by what they hold, and the likely ones of a modality when a PACS won't say.

A C-GET must propose a storage context for the SOP class of each instance it asks for. A PACS
tells the class in a C-FIND at the instance level; one that does not (dcmqrscp's index holds no
SOP Class UID) is answered with the classes a series of that modality usually holds.
"""

from __future__ import annotations

from typing import Final

BASIC_TEXT_SR: Final = "1.2.840.10008.5.1.4.1.1.88.11"
ENHANCED_SR: Final = "1.2.840.10008.5.1.4.1.1.88.22"
COMPREHENSIVE_SR: Final = "1.2.840.10008.5.1.4.1.1.88.33"
COMPREHENSIVE_3D_SR: Final = "1.2.840.10008.5.1.4.1.1.88.34"
KEY_OBJECT_SELECTION: Final = "1.2.840.10008.5.1.4.1.1.88.59"
ENCAPSULATED_PDF: Final = "1.2.840.10008.5.1.4.1.1.104.1"
ENCAPSULATED_CDA: Final = "1.2.840.10008.5.1.4.1.1.104.2"

SR_CLASSES: Final = frozenset(
    {BASIC_TEXT_SR, ENHANCED_SR, COMPREHENSIVE_SR, COMPREHENSIVE_3D_SR, KEY_OBJECT_SELECTION}
)
REPORT_CLASSES: Final = SR_CLASSES | {ENCAPSULATED_PDF, ENCAPSULATED_CDA}
# Modalities whose series hold reports and documents (PS3.3 C.7.3.1.1.1; PDFs are often OT).
REPORT_MODALITIES: Final = frozenset({"SR", "KO", "DOC", "OT"})

_SECONDARY_CAPTURE: Final = "1.2.840.10008.5.1.4.1.1.7"
_BY_MODALITY: Final = {
    "CT": ("1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.2.1"),
    "MR": ("1.2.840.10008.5.1.4.1.1.4", "1.2.840.10008.5.1.4.1.1.4.1"),
    "CR": ("1.2.840.10008.5.1.4.1.1.1",),
    "DX": ("1.2.840.10008.5.1.4.1.1.1.1", "1.2.840.10008.5.1.4.1.1.1.1.1"),
    "MG": ("1.2.840.10008.5.1.4.1.1.1.2", "1.2.840.10008.5.1.4.1.1.1.2.1"),
    "US": ("1.2.840.10008.5.1.4.1.1.6.1", "1.2.840.10008.5.1.4.1.1.3.1"),
    "NM": ("1.2.840.10008.5.1.4.1.1.20",),
    "PT": ("1.2.840.10008.5.1.4.1.1.128",),
    "XA": ("1.2.840.10008.5.1.4.1.1.12.1",),
    "RF": ("1.2.840.10008.5.1.4.1.1.12.2",),
    "SR": (BASIC_TEXT_SR, ENHANCED_SR, COMPREHENSIVE_SR, COMPREHENSIVE_3D_SR),
    "KO": (KEY_OBJECT_SELECTION,),
    "DOC": (ENCAPSULATED_PDF, ENCAPSULATED_CDA),
    "OT": (_SECONDARY_CAPTURE, ENCAPSULATED_PDF, ENCAPSULATED_CDA),
}


# Proposed, uncompressed only, when neither the PACS nor the modality says which class an instance is.
COMMON_STORAGE: Final = tuple(
    dict.fromkeys(
        [
            *(sop for classes in _BY_MODALITY.values() for sop in classes),
            "1.2.840.10008.5.1.4.1.1.7.1",  # Multi-frame Single Bit SC
            "1.2.840.10008.5.1.4.1.1.7.2",  # Multi-frame Grayscale Byte SC
            "1.2.840.10008.5.1.4.1.1.7.3",  # Multi-frame Grayscale Word SC
            "1.2.840.10008.5.1.4.1.1.7.4",  # Multi-frame True Color SC
            "1.2.840.10008.5.1.4.1.1.1.1.1",  # Digital X-Ray Image Storage - For Processing
            "1.2.840.10008.5.1.4.1.1.11.1",  # Grayscale Softcopy Presentation State
            "1.2.840.10008.5.1.4.1.1.481.1",  # RT Image
            "1.2.840.10008.5.1.4.1.1.66.4",  # Segmentation
            "1.2.840.10008.5.1.4.1.1.77.1.4",  # VL Photographic Image
        ]
    )
)


def kind_of(sop_class: str) -> str | None:
    """ "sr", "pdf" or "cda" for a report class, else None."""
    if sop_class in SR_CLASSES:
        return "sr"
    return {ENCAPSULATED_PDF: "pdf", ENCAPSULATED_CDA: "cda"}.get(sop_class)


def likely(sop_class: str | None, modality: str | None) -> tuple[str, ...]:
    """The storage classes to propose for an instance: its own if known, else its modality's."""
    if sop_class:
        return (sop_class,)
    return _BY_MODALITY.get((modality or "").upper(), (_SECONDARY_CAPTURE,))
