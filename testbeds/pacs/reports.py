"""The reports of the test data set: a Comprehensive SR and an Encapsulated PDF of one CT study.

The SR holds every value type the service puts into words (nested containers, TEXT, CODE, NUM
with units, DATE, PNAME, UIDREF, an IMAGE reference), is COMPLETE and VERIFIED by a verifying
observer, and is written in UTF-8 (one text value is not ASCII). The PDF is written by hand
(`testbeds.pdf`). The values a reader must find are the constants below; `REPORT_TERMS` are the
ones that count as patient data when searching logs.
"""

from __future__ import annotations

from typing import Final

from pydicom.dataset import Dataset

from testbeds.pdf import make_pdf

COMPREHENSIVE_SR: Final = "1.2.840.10008.5.1.4.1.1.88.33"
ENCAPSULATED_PDF: Final = "1.2.840.10008.5.1.4.1.1.104.1"
CT_IMAGE_STORAGE: Final = "1.2.840.10008.5.1.4.1.1.2"

SR_TITLE: Final = "Diagnostic Imaging Report"
OBSERVER: Final = "WHITAKER^HELEN"
FINDING: Final = "Spiculated solid nodule in the right upper lobe, new since the prior study."
IMPRESSION: Final = "Indeterminate pulmonary nodule ≤ 10 mm; follow-up CT in 3 months is recommended."
FINDING_SITE: Final = "Upper lobe of right lung"
DIAMETER: Final = ("8.5", "mm")
PRIOR_DATE: Final = "20200817"
CONTENT_TIME: Final = "113000"
VERIFIED_AT: Final = "20220916120500"
REFERENCED_SLICE: Final = 2  # the InstanceNumber of the CT slice the SR's IMAGE item points at

PDF_TITLE: Final = "CT Thorax Report"
PDF_LINES: Final = (
    "CT THORAX - FINAL REPORT",
    "Clinical history: persistent cough for six weeks.",
    "Findings: solid nodule of 8.5 mm in the right upper lobe.",
    "Impression: follow-up CT in three months.",
    "Signed: Dr Helen Whitaker",
)

# The report's words that would betray a patient if an ordinary log held them.
REPORT_TERMS: Final = frozenset({FINDING, IMPRESSION, OBSERVER, "WHITAKER", *PDF_LINES[1:]})


def prior_study_uid(study_uid: str) -> str:
    """The UID the SR's UIDREF item names (a prior study this PACS does not hold)."""
    return f"{study_uid}.99"


def sr_outline_lines(study_uid: str, referenced_sop_uid: str) -> list[str]:
    """The outline lines the service should make of the SR, in order (two spaces per level)."""
    return [
        SR_TITLE,
        f"  Person Observer Name: {OBSERVER}",
        "  Findings",
        f"    Finding: {FINDING}",
        f"    Finding Site: {FINDING_SITE}",
        f"    Diameter: {' '.join(DIAMETER)}",
        f"    Image: CT Image Storage {referenced_sop_uid}",
        "    Comparison",
        f"      Date of prior study: {PRIOR_DATE[:4]}-{PRIOR_DATE[4:6]}-{PRIOR_DATE[6:]}",
        f"      Procedure Study Instance UID: {prior_study_uid(study_uid)}",
        "  Impressions",
        f"    Impression: {IMPRESSION}",
    ]


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def _item(relationship: str, value_type: str, concept: Dataset | None, **values: object) -> Dataset:
    item = Dataset()
    item.RelationshipType, item.ValueType = relationship, value_type
    if concept is not None:
        item.ConceptNameCodeSequence = [concept]
    for keyword, value in values.items():
        setattr(item, keyword, value)
    return item


def _container(concept: Dataset, children: list[Dataset]) -> Dataset:
    return _item("CONTAINS", "CONTAINER", concept, ContinuityOfContent="SEPARATE", ContentSequence=children)


def _sop_reference(sop_class: str, sop_uid: str) -> Dataset:
    referenced = Dataset()
    referenced.ReferencedSOPClassUID, referenced.ReferencedSOPInstanceUID = sop_class, sop_uid
    return referenced


def _measurement(value: str, unit: str) -> Dataset:
    measured = Dataset()
    measured.NumericValue = value
    measured.MeasurementUnitsCodeSequence = [_code(unit, "UCUM", "millimeter")]
    return measured


def _content(study_uid: str, referenced_sop_uid: str) -> list[Dataset]:
    comparison = _container(
        _code("122140", "DCM", "Comparison"),
        [
            _item("CONTAINS", "DATE", _code("111060", "DCM", "Date of prior study"), Date=PRIOR_DATE),
            _item(
                "CONTAINS",
                "UIDREF",
                _code("121018", "DCM", "Procedure Study Instance UID"),
                UID=prior_study_uid(study_uid),
            ),
        ],
    )
    findings = _container(
        _code("121070", "DCM", "Findings"),
        [
            _item("CONTAINS", "TEXT", _code("121071", "DCM", "Finding"), TextValue=FINDING),
            _item(
                "CONTAINS",
                "CODE",
                _code("363698007", "SCT", "Finding Site"),
                ConceptCodeSequence=[_code("45653009", "SCT", FINDING_SITE)],
            ),
            _item(
                "CONTAINS",
                "NUM",
                _code("81827009", "SCT", "Diameter"),
                MeasuredValueSequence=[_measurement(*DIAMETER)],
            ),
            _item(
                "INFERRED FROM",
                "IMAGE",
                None,
                ReferencedSOPSequence=[_sop_reference(CT_IMAGE_STORAGE, referenced_sop_uid)],
            ),
            comparison,
        ],
    )
    impressions = _container(
        _code("121072", "DCM", "Impressions"),
        [_item("CONTAINS", "TEXT", _code("121073", "DCM", "Impression"), TextValue=IMPRESSION)],
    )
    observer = _item(
        "HAS OBS CONTEXT", "PNAME", _code("121008", "DCM", "Person Observer Name"), PersonName=OBSERVER
    )
    return [observer, findings, impressions]


def fill_structured_report(ds: Dataset, ct_series_uid: str, ct_sop_uids: list[str]) -> None:
    """Make `ds` its study's Comprehensive SR (VERIFIED, COMPLETE) about the CT slices `ct_sop_uids`."""
    study_uid = str(ds.StudyInstanceUID)
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.ContentDate, ds.ContentTime = ds.StudyDate, CONTENT_TIME
    ds.ValueType, ds.ContinuityOfContent = "CONTAINER", "SEPARATE"
    ds.ConceptNameCodeSequence = [_code("18748-4", "LN", SR_TITLE)]
    ds.CompletionFlag, ds.VerificationFlag = "COMPLETE", "VERIFIED"
    verifier = Dataset()
    verifier.VerifyingObserverName = OBSERVER
    verifier.VerifyingOrganization = "General Hospital"
    verifier.VerificationDateTime = VERIFIED_AT
    verifier.VerifyingObserverIdentificationCodeSequence = []
    ds.VerifyingObserverSequence = [verifier]
    ds.ReferencedPerformedProcedureStepSequence = []
    ds.PerformedProcedureCodeSequence = []
    evidence_series = Dataset()
    evidence_series.SeriesInstanceUID = ct_series_uid
    evidence_series.ReferencedSOPSequence = [_sop_reference(CT_IMAGE_STORAGE, uid) for uid in ct_sop_uids]
    evidence = Dataset()
    evidence.StudyInstanceUID = study_uid
    evidence.ReferencedSeriesSequence = [evidence_series]
    ds.CurrentRequestedProcedureEvidenceSequence = [evidence]
    ds.ContentSequence = _content(study_uid, ct_sop_uids[REFERENCED_SLICE - 1])


def fill_encapsulated_pdf(ds: Dataset) -> None:
    """Make `ds` an Encapsulated PDF holding the study's report (PDF_LINES on one page)."""
    document = make_pdf(["\n".join(PDF_LINES)])
    ds.ContentDate, ds.ContentTime = ds.StudyDate, CONTENT_TIME
    ds.AcquisitionDateTime = ds.StudyDate + CONTENT_TIME
    ds.BurnedInAnnotation = "YES"
    ds.DocumentTitle = PDF_TITLE
    ds.ConceptNameCodeSequence = [_code("18748-4", "LN", "Diagnostic Imaging Report")]
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    ds.EncapsulatedDocumentLength = len(document)
    ds.EncapsulatedDocument = document + b"\x00" * (len(document) % 2)
