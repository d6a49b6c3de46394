"""The sample data set's reports of the follow-up chest CT: a Comprehensive SR and an encapsulated PDF.

The SR says what `read_report` turns into an outline: an observer, findings (text, a coded
site, a measured diameter, the image it was measured on, the prior study compared with) and
an impression; it is COMPLETE and VERIFIED. The PDF is the same report as a signed letter.
"""

from __future__ import annotations

from typing import Final

from pydicom.dataset import Dataset

from dicom_mcp.demo.data.pdf import make_pdf
from dicom_mcp.demo.data.plan import INSTITUTION, NODULE_MM, PRIOR_CHEST_DATE, PRIOR_NODULE_MM, RADIOLOGIST

COMPREHENSIVE_SR: Final = "1.2.840.10008.5.1.4.1.1.88.33"
ENCAPSULATED_PDF: Final = "1.2.840.10008.5.1.4.1.1.104.1"
CT_IMAGE: Final = "1.2.840.10008.5.1.4.1.1.2"
REPORT_TIME: Final = "113000"

_PRIOR = f"{PRIOR_CHEST_DATE[:4]}-{PRIOR_CHEST_DATE[4:6]}-{PRIOR_CHEST_DATE[6:]}"
FINDING: Final = (
    f"Solid nodule in the right upper lobe, {NODULE_MM:g} mm, grown from {PRIOR_NODULE_MM:g} mm on {_PRIOR}."
)
IMPRESSION: Final = "Growing pulmonary nodule: PET-CT or tissue sampling is recommended."
PDF_TITLE: Final = "CT Chest Follow-up Report"


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


def _reference(sop_uid: str) -> Dataset:
    referenced = Dataset()
    referenced.ReferencedSOPClassUID, referenced.ReferencedSOPInstanceUID = CT_IMAGE, sop_uid
    return referenced


def _content(prior_study_uid: str, measured_on: str) -> list[Dataset]:
    diameter = Dataset()
    diameter.NumericValue = f"{NODULE_MM:g}"
    diameter.MeasurementUnitsCodeSequence = [_code("mm", "UCUM", "millimeter")]
    comparison = _container(
        _code("122140", "DCM", "Comparison"),
        [
            _item("CONTAINS", "DATE", _code("111060", "DCM", "Date of prior study"), Date=PRIOR_CHEST_DATE),
            _item(
                "CONTAINS",
                "UIDREF",
                _code("121018", "DCM", "Procedure Study Instance UID"),
                UID=prior_study_uid,
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
                ConceptCodeSequence=[_code("45653009", "SCT", "Upper lobe of right lung")],
            ),
            _item("CONTAINS", "NUM", _code("81827009", "SCT", "Diameter"), MeasuredValueSequence=[diameter]),
            _item("INFERRED FROM", "IMAGE", None, ReferencedSOPSequence=[_reference(measured_on)]),
            comparison,
        ],
    )
    impressions = _container(
        _code("121072", "DCM", "Impressions"),
        [_item("CONTAINS", "TEXT", _code("121073", "DCM", "Impression"), TextValue=IMPRESSION)],
    )
    observer = _item(
        "HAS OBS CONTEXT", "PNAME", _code("121008", "DCM", "Person Observer Name"), PersonName=RADIOLOGIST
    )
    return [observer, findings, impressions]


def fill_structured_report(
    ds: Dataset, prior_study_uid: str, ct_series_uid: str, ct_sop_uids: list[str], measured_on: str
) -> None:
    """Make `ds` the study's Comprehensive SR about the CT slices `ct_sop_uids`."""
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.ContentDate, ds.ContentTime = ds.StudyDate, REPORT_TIME
    ds.ValueType, ds.ContinuityOfContent = "CONTAINER", "SEPARATE"
    ds.ConceptNameCodeSequence = [_code("18748-4", "LN", "Diagnostic Imaging Report")]
    ds.CompletionFlag, ds.VerificationFlag = "COMPLETE", "VERIFIED"
    verifier = Dataset()
    verifier.VerifyingObserverName = RADIOLOGIST
    verifier.VerifyingOrganization = INSTITUTION
    verifier.VerificationDateTime = f"{ds.StudyDate}120000"
    verifier.VerifyingObserverIdentificationCodeSequence = []
    ds.VerifyingObserverSequence = [verifier]
    ds.ReferencedPerformedProcedureStepSequence = []
    ds.PerformedProcedureCodeSequence = []
    series = Dataset()
    series.SeriesInstanceUID = ct_series_uid
    series.ReferencedSOPSequence = [_reference(uid) for uid in ct_sop_uids]
    evidence = Dataset()
    evidence.StudyInstanceUID = ds.StudyInstanceUID
    evidence.ReferencedSeriesSequence = [series]
    ds.CurrentRequestedProcedureEvidenceSequence = [evidence]
    ds.ContentSequence = _content(prior_study_uid, measured_on)


def pdf_lines(patient_name: str, patient_id: str, study_date: str) -> list[str]:
    """The lines of the signed report (ASCII, so Helvetica shows them as written)."""
    when = f"{study_date[:4]}-{study_date[4:6]}-{study_date[6:]}"
    return [
        "SAMPLE HOSPITAL - RADIOLOGY (SYNTHETIC DEMONSTRATION DATA)",
        f"CT CHEST FOLLOW-UP of {when} - FINAL REPORT",
        f"Patient: {patient_name} ({patient_id})",
        f"Comparison: CT chest of {_PRIOR}.",
        f"Findings: {FINDING}",
        f"Impression: {IMPRESSION}",
        f"Signed: {RADIOLOGIST}",
    ]


def fill_encapsulated_pdf(ds: Dataset) -> None:
    """Make `ds` an Encapsulated PDF of the study's report."""
    document = make_pdf(["\n".join(pdf_lines(str(ds.PatientName), str(ds.PatientID), str(ds.StudyDate)))])
    ds.ContentDate, ds.ContentTime = ds.StudyDate, REPORT_TIME
    ds.AcquisitionDateTime = f"{ds.StudyDate}{REPORT_TIME}"
    ds.ConversionType = "WSD"
    ds.BurnedInAnnotation = "YES"
    ds.DocumentTitle = PDF_TITLE
    ds.ConceptNameCodeSequence = [_code("18748-4", "LN", "Diagnostic Imaging Report")]
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    ds.EncapsulatedDocumentLength = len(document)
    ds.EncapsulatedDocument = document + b"\x00" * (len(document) % 2)
