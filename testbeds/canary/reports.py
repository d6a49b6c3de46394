"""The canary study's reports: a Comprehensive SR and an Encapsulated PDF, both naming the patient.

The SR holds CONTAINER, PNAME (the observer), TEXT (the patient's name, ID and birth date),
CODE, NUM, IMAGE, DATE and UIDREF items. The PDF's text names the patient, the ID, the birth
date and the examination date. What is said besides the identifiers (FINDING_SITE, DIAMETER,
the clinical words) is what a pseudonymised reader keeps.
"""

from __future__ import annotations

from typing import Final

from pydicom.dataset import Dataset

from testbeds.canary.identity import (
    FAMILY,
    GIVEN,
    INSTITUTION,
    OBSERVER,
    PATIENT_ID,
    PRIOR_DATE,
    PRIOR_STUDY_UID,
)
from testbeds.pdf import make_pdf

CT_IMAGE: Final = "1.2.840.10008.5.1.4.1.1.2"
FINDING_SITE: Final = "Upper lobe of right lung"
DIAMETER: Final = ("8.5", "mm")
SR_FINDING: Final = f"{GIVEN} {FAMILY} ({PATIENT_ID}), born 1961-04-23: spiculated nodule, right upper lobe."
SR_IMPRESSION: Final = f"Follow-up CT for {FAMILY} in three months."
PDF_TITLE: Final = "CT Thorax Report"
PDF_LINES: Final = (
    "CT THORAX - FINAL REPORT",
    f"Patient: {FAMILY}, {GIVEN}  ID: {PATIENT_ID}",
    "Date of birth: 23.04.1961",
    "Examination of 2019-06-11: solid nodule of 8.5 mm in the right upper lobe.",
    "Impression: follow-up CT in three months.",
)
# Words of the reports that are not identifiers: scrubbed text keeps them.
CLINICAL_WORDS: Final = ("spiculated nodule", "three months", "solid nodule of 8.5 mm")


def code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def _item(relationship: str, value_type: str, concept: Dataset, **values: object) -> Dataset:
    item = Dataset()
    item.RelationshipType, item.ValueType = relationship, value_type
    item.ConceptNameCodeSequence = [concept]
    for keyword, value in values.items():
        setattr(item, keyword, value)
    return item


def _reference(sop_class: str, sop_uid: str) -> Dataset:
    reference = Dataset()
    reference.ReferencedSOPClassUID, reference.ReferencedSOPInstanceUID = sop_class, sop_uid
    return reference


def _findings(referenced_sop_uid: str) -> list[Dataset]:
    measured = Dataset()
    measured.NumericValue = DIAMETER[0]
    measured.MeasurementUnitsCodeSequence = [code(DIAMETER[1], "UCUM", "millimeter")]
    image = Dataset()
    image.RelationshipType, image.ValueType = "INFERRED FROM", "IMAGE"
    image.ReferencedSOPSequence = [_reference(CT_IMAGE, referenced_sop_uid)]
    site = [code("45653009", "SCT", FINDING_SITE)]
    prior_uid = code("121018", "DCM", "Procedure Study Instance UID")
    return [
        _item("CONTAINS", "TEXT", code("121071", "DCM", "Finding"), TextValue=SR_FINDING),
        _item("CONTAINS", "CODE", code("363698007", "SCT", "Finding Site"), ConceptCodeSequence=site),
        _item("CONTAINS", "NUM", code("81827009", "SCT", "Diameter"), MeasuredValueSequence=[measured]),
        image,
        _item("CONTAINS", "DATE", code("111060", "DCM", "Date of prior study"), Date=PRIOR_DATE),
        _item("CONTAINS", "UIDREF", prior_uid, UID=PRIOR_STUDY_UID),
    ]


def _container(concept: Dataset, children: list[Dataset]) -> Dataset:
    return _item("CONTAINS", "CONTAINER", concept, ContinuityOfContent="SEPARATE", ContentSequence=children)


def fill_sr(ds: Dataset, study_date: str, ct_series_uid: str, ct_sop_uids: tuple[str, ...]) -> None:
    """Make `ds` a VERIFIED, COMPLETE Comprehensive SR about the CT slices `ct_sop_uids`."""
    ds.ValueType, ds.ContinuityOfContent = "CONTAINER", "SEPARATE"
    ds.ConceptNameCodeSequence = [code("18748-4", "LN", "Diagnostic Imaging Report")]
    ds.CompletionFlag, ds.VerificationFlag = "COMPLETE", "VERIFIED"
    verifier = Dataset()
    verifier.VerifyingObserverName, verifier.VerifyingOrganization = OBSERVER, INSTITUTION
    verifier.VerificationDateTime = f"{study_date}120500"
    ds.VerifyingObserverSequence = [verifier]
    evidence_series = Dataset()
    evidence_series.SeriesInstanceUID = ct_series_uid
    evidence_series.ReferencedSOPSequence = [_reference(CT_IMAGE, uid) for uid in ct_sop_uids]
    evidence = Dataset()
    evidence.StudyInstanceUID, evidence.ReferencedSeriesSequence = ds.StudyInstanceUID, [evidence_series]
    ds.CurrentRequestedProcedureEvidenceSequence = [evidence]
    observer = code("121008", "DCM", "Person Observer Name")
    impression = _item("CONTAINS", "TEXT", code("121073", "DCM", "Impression"), TextValue=SR_IMPRESSION)
    ds.ContentSequence = [
        _item("HAS OBS CONTEXT", "PNAME", observer, PersonName=OBSERVER),
        _container(code("121070", "DCM", "Findings"), _findings(ct_sop_uids[1])),
        _container(code("121072", "DCM", "Impressions"), [impression]),
    ]


def fill_pdf(ds: Dataset, study_date: str) -> None:
    """Make `ds` an Encapsulated PDF whose one page holds PDF_LINES."""
    document = make_pdf(["\n".join(PDF_LINES)])
    ds.AcquisitionDateTime = f"{study_date}101700"
    ds.BurnedInAnnotation, ds.DocumentTitle = "YES", PDF_TITLE
    ds.ConceptNameCodeSequence = [code("18748-4", "LN", "Diagnostic Imaging Report")]
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    ds.EncapsulatedDocumentLength = len(document)
    ds.EncapsulatedDocument = document + b"\x00" * (len(document) % 2)
