"""What an instance tells the view's boundary about whom it shows, and SR outlines written for the view."""

from __future__ import annotations

from pydicom.dataset import Dataset

from dicom_mcp.reading.identity import identity, person_names
from dicom_mcp.reading.report import report
from dicom_mcp.reading.sr import WITHHELD, Outline
from tests.reading.datasets import code, content, ct_dataset, encoded, measurement, sr_document

TITLE = code("18748-4", "LN", "Diagnostic Imaging Report")
FINDING = code("121071", "DCM", "Finding")
OBSERVER = code("121008", "DCM", "Person Observer Name")
DIAMETER = code("81827009", "SCT", "Diameter")
STUDY_DATE = code("111060", "DCM", "Study Date")
STUDY_UID = code("110180", "DCM", "Study Instance UID")
MM = code("mm", "UCUM", "millimeter")
PRIOR = "1.2.826.0.1.3680043.8.498.99"


def test_identity_gathers_the_identifiers_and_the_image_facts() -> None:
    ds = ct_dataset()
    ds.OtherPatientIDs = ["MRN-77", "NHS-12"]
    ds.BurnedInAnnotation = "NO"
    facts = identity(encoded(ds))
    assert {
        key: facts[key] for key in ("PatientID", "PatientName", "PatientBirthDate", "AccessionNumber")
    } == {
        "PatientID": "PID0001",
        "PatientName": "Doe^Jane",
        "PatientBirthDate": "19700101",
        "AccessionNumber": "ACC20240305",
    }
    assert facts["StudyID"] == "1"
    assert facts["StudyDate"] == "20240305"
    assert facts["StudyInstanceUID"] == "1.2.826.0.1.3680043.8.498.10"
    assert facts["SOPClassUID"] == "1.2.840.10008.5.1.4.1.1.2"
    assert (facts["Modality"], facts["BurnedInAnnotation"]) == ("CT", "NO")
    assert facts["OtherPatientIDs"] == ["MRN-77", "NHS-12"]
    assert facts["ImageType"] == ["ORIGINAL", "PRIMARY", "AXIAL"]
    assert facts["overlays"] is False


def test_identity_lists_every_person_name_including_nested_and_non_ascii_ones() -> None:
    ds = ct_dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = "Müller^Jürgen"
    ds.PerformingPhysicianName = ["Ørsted^Hans", "Łukasz^Nowak"]
    request = Dataset()
    request.ScheduledPerformingPhysicianName = "Brown^Carol"
    inner = Dataset()
    inner.PersonName = "Strauß^Ilse"
    request.ContentSequence = [inner]
    ds.RequestAttributesSequence = [request]
    names = identity(encoded(ds))["names"]
    for name in ("Müller^Jürgen", "Brown^Carol", "Ørsted^Hans", "Łukasz^Nowak", "Strauß^Ilse", "Tech^Terry"):
        assert name in names
    assert "Doe^Jane" not in names


def test_identity_notices_overlays() -> None:
    ds = ct_dataset()
    ds.add_new(0x60000010, "US", 512)  # Overlay Rows
    ds.add_new(0x60000011, "US", 512)  # Overlay Columns
    assert identity(encoded(ds))["overlays"] is True


def test_an_odd_group_near_the_overlays_is_not_an_overlay() -> None:
    ds = ct_dataset()
    block = ds.private_block(0x6001, "SOME VENDOR", create=True)
    block.add_new(0x10, "LO", "vendor data")
    assert identity(encoded(ds))["overlays"] is False


def test_an_instance_without_identifiers_gives_empty_facts() -> None:
    facts = identity(Dataset())
    assert facts["PatientID"] is None and facts["PatientName"] is None
    assert (facts["names"], facts["OtherPatientIDs"], facts["ImageType"], facts["overlays"]) == (
        [],
        [],
        [],
        False,
    )


def test_person_names_are_capped() -> None:
    ds = Dataset()
    ds.PerformingPhysicianName = [f"Doctor^{n}" for n in range(500)]
    assert len(person_names(ds)) == 200


def sr() -> Dataset:
    return encoded(
        sr_document(
            TITLE,
            [
                content("PNAME", OBSERVER, PersonName="Brown^Carol"),
                content("TEXT", FINDING, TextValue="Jane Doe has a nodule"),
                content("TEXT", None, TextValue="Seen by Dr Brown"),
                content("NUM", DIAMETER, MeasuredValueSequence=[measurement("12.5", MM)]),
                content("CODE", FINDING, ConceptCodeSequence=[code("92220003", "SCT", "Benign neoplasm")]),
                content("DATE", STUDY_DATE, Date="20240305"),
                content("UIDREF", STUDY_UID, UID=PRIOR),
            ],
        )
    )


def test_an_outline_for_the_identified_view_shows_everything() -> None:
    assert list(Outline(sr())) == [
        "Diagnostic Imaging Report",
        "  Person Observer Name: Brown^Carol",
        "  Finding: Jane Doe has a nodule",
        "  Seen by Dr Brown",
        "  Diameter: 12.5 mm",
        "  Finding: Benign neoplasm",
        "  Study Date: 2024-03-05",
        f"  Study Instance UID: {PRIOR}",
    ]


def test_a_withheld_outline_drops_person_names_and_withholds_free_text() -> None:
    assert list(Outline(sr(), redact="withhold")) == [
        "Diagnostic Imaging Report",
        f"  Finding: {WITHHELD}",
        f"  {WITHHELD}",
        "  Diameter: 12.5 mm",
        "  Finding: Benign neoplasm",
        "  Study Date: 2024-03-05",  # the boundary moves it
        f"  Study Instance UID: {PRIOR}",  # the boundary tokenises it
    ]


def test_a_scrubbed_outline_keeps_free_text_but_drops_person_names() -> None:
    lines = list(Outline(sr(), redact="scrub"))
    assert "  Finding: Jane Doe has a nodule" in lines  # the boundary scrubs it
    assert not [line for line in lines if "Carol" in line or "Person Observer" in line]


def test_a_report_passes_its_redaction_to_the_outline() -> None:
    text = report(sr(), 10_000, redact="withhold")["text"]
    assert isinstance(text, str)
    assert "Brown^Carol" not in text and "nodule" not in text
    assert WITHHELD in text
