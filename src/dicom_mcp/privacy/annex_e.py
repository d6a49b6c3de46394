"""What a pseudonymised caller gets of each attribute, after PS3.15 Annex E.

The Basic Application Level Confidentiality Profile with the Retain Longitudinal Temporal
Information with Modified Dates option, and descriptions cleaned (Clean Descriptors): an
allowlist, so that an attribute nobody classified is removed, never shown.

    UID          instance UIDs (VR UI) become 2.25 tokens; registered UIDs (SOP classes,
                 transfer syntaxes) are kept as they are
    PATIENT_ID, ACCESSION, STUDY_ID   tokens
    NAME         Patient's Name: a name made of the patient's token
    DATE         dates (DA) and date-times (DT) move by the patient's offset
    AGE          Patient's Birth Date: removed; Patient's Age at the study is given instead
    DESCRIPTION  free-text descriptions, kept with the patient's own identifiers replaced
    SEQUENCE     walked, item by item, under the same rules
    KEEP         codes, numbers, times and technical attributes
    REMOVE       everything else: other names, IDs, addresses, institutions, physicians,
                 comments, private elements, unknown attributes
"""

from __future__ import annotations

import enum
from functools import cache
from typing import Final

from pydicom._uid_dict import UID_dictionary
from pydicom.datadict import dictionary_VR, tag_for_keyword


class Action(enum.Enum):
    KEEP = "keep"
    UID = "uid"
    PATIENT_ID = "patient_id"
    ACCESSION = "accession"
    STUDY_ID = "study_id"
    NAME = "name"
    DATE = "date"
    AGE = "age"
    DESCRIPTION = "description"
    SEQUENCE = "sequence"
    REMOVE = "remove"


_NAMED: Final[dict[str, Action]] = {
    "PatientID": Action.PATIENT_ID,
    "AccessionNumber": Action.ACCESSION,
    "StudyID": Action.STUDY_ID,
    "PatientName": Action.NAME,
    "PatientBirthDate": Action.AGE,
}

DESCRIPTIONS: Final = frozenset(
    {
        "StudyDescription",
        "SeriesDescription",
        "ProtocolName",
        "PerformedProcedureStepDescription",
        "RequestedProcedureDescription",
        "DocumentTitle",
        "ImageLaterality",
    }
)

# Sequences whose items are walked; any other sequence goes whole (Request Attributes,
# Referring Physician Identification, Icon Image, Original Attributes, ...).
SEQUENCES: Final = frozenset(
    {
        "ReferencedStudySequence",
        "ReferencedSeriesSequence",
        "ReferencedImageSequence",
        "ReferencedInstanceSequence",
        "ReferencedSOPSequence",
        "SourceImageSequence",
        "CurrentRequestedProcedureEvidenceSequence",
        "ContentSequence",
        "ConceptNameCodeSequence",
        "ConceptCodeSequence",
        "MeasuredValueSequence",
        "MeasurementUnitsCodeSequence",
        "ContentTemplateSequence",
        "AnatomicRegionSequence",
        "ProcedureCodeSequence",
        "DerivationCodeSequence",
        "PurposeOfReferenceCodeSequence",
        "SharedFunctionalGroupsSequence",
        "PerFrameFunctionalGroupsSequence",
        "PixelMeasuresSequence",
        "PlanePositionSequence",
        "PlaneOrientationSequence",
        "PixelValueTransformationSequence",
        "FrameVOILUTSequence",
        "FrameContentSequence",
        "CTImageFrameTypeSequence",
        "MRImageFrameTypeSequence",
        "DimensionIndexSequence",
        "DimensionOrganizationSequence",
        "RealWorldValueMappingSequence",
        "ModalityLUTSequence",
        "VOILUTSequence",
    }
)

# Attributes of value representations a person's identity does not live in: codes, numbers,
# times, ages, AE titles, bulk data notes (the header shows a size, never the bytes).
_KEPT_VRS: Final = frozenset(
    {"CS", "AS", "TM", "US", "SS", "UL", "SL", "UV", "SV", "FL", "FD", "DS", "IS", "AT", "AE"}
    | {"OB", "OW", "OF", "OD", "OL", "OV"}
)
# Text of other representations kept by name: makers, models, kernels, codes, window notes.
_KEPT_TEXT: Final = frozenset(
    {
        "Manufacturer",
        "ManufacturerModelName",
        "SoftwareVersions",
        "ConvolutionKernel",
        "CodeValue",
        "CodingSchemeDesignator",
        "CodingSchemeVersion",
        "CodeMeaning",
        "LongCodeValue",
        "URNCodeValue",
        "RescaleType",
        "WindowCenterWidthExplanation",
        "LUTExplanation",
        "SequenceName",
        "ScanningSequence",
        "ReceiveCoilName",
        "TransmitCoilName",
        "FilterType",
        "PatientOrientation",
        "FrameOfReferenceUID",
    }
)
# Attributes of kept representations that still identify someone (Annex E lists them).
_REMOVED_ANYWAY: Final = frozenset(
    {
        "StationAETitle",
        "ScheduledStationAETitle",
        "PerformedStationAETitle",
        "OtherPatientIDs",
        "IssuerOfPatientID",
        "PatientMotherBirthName",
        "EthnicGroup",
        "PatientReligiousPreference",
        "PregnancyStatus",
        "PatientBirthTime",
        "SmokingStatus",
    }
)


@cache
def action(keyword: str) -> Action:
    """What happens to the attribute `keyword` (a DICOM keyword; anything else is removed)."""
    if keyword in _NAMED:
        return _NAMED[keyword]
    if keyword in DESCRIPTIONS:
        return Action.DESCRIPTION
    if keyword in SEQUENCES:
        return Action.SEQUENCE
    tag = tag_for_keyword(keyword)
    if tag is None or keyword in _REMOVED_ANYWAY:
        return Action.REMOVE
    vrs = set(dictionary_VR(tag).split(" or "))  # e.g. "OB or OW"
    if vrs == {"UI"}:
        return Action.UID
    if vrs & {"DA", "DT"}:
        return Action.DATE
    if vrs <= _KEPT_VRS or keyword in _KEPT_TEXT:
        return Action.KEEP
    return Action.REMOVE


def removed(keyword: str) -> bool:
    """Whether a pseudonymised caller never sees `keyword` (it may not ask for it either)."""
    return action(keyword) in (Action.REMOVE, Action.AGE)


def registered(uid: str) -> bool:
    """Whether `uid` is one of DICOM's own UIDs (a SOP class, a transfer syntax), not an instance's."""
    return uid in UID_dictionary
