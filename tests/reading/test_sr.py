"""A Structured Report as a readable outline, and the facts of a report."""

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from dicom_mcp.reading.sr import outline, report_facts
from tests.reading.datasets import code, content, encoded, measurement, sop_reference, sr_document

TITLE = code("18748-4", "LN", "Diagnostic Imaging Report")
MM = code("mm", "UCUM", "millimeter")
FINDINGS = code("121070", "DCM", "Findings")
FINDING = code("121071", "DCM", "Finding")
DIAMETER = code("81827009", "SCT", "Diameter")
CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"


def test_report_reads_as_an_indented_outline_under_its_title() -> None:
    report = sr_document(
        TITLE,
        [
            content(
                "CONTAINER",
                FINDINGS,
                ContinuityOfContent="SEPARATE",
                ContentSequence=[
                    content("TEXT", FINDING, TextValue="Nodule in the right upper lobe"),
                    content("NUM", DIAMETER, MeasuredValueSequence=[measurement("12.5", MM)]),
                ],
            ),
            content(
                "CONTAINER",
                code("121072", "DCM", "Impressions"),
                ContinuityOfContent="SEPARATE",
                ContentSequence=[
                    content(
                        "CODE",
                        code("121073", "DCM", "Impression"),
                        ConceptCodeSequence=[code("92220003", "SCT", "Benign neoplasm of lung")],
                    )
                ],
            ),
        ],
    )
    assert outline(encoded(report)) == (
        "Diagnostic Imaging Report\n"
        "  Findings\n"
        "    Finding: Nodule in the right upper lobe\n"
        "    Diameter: 12.5 mm\n"
        "  Impressions\n"
        "    Impression: Benign neoplasm of lung"
    )


def test_num_item_shows_value_and_unit() -> None:
    item = content("NUM", DIAMETER, MeasuredValueSequence=[measurement("12.5", MM)])
    assert outline(sr_document(TITLE, [item])).splitlines()[1] == "  Diameter: 12.5 mm"


def test_num_unit_outside_ucum_is_its_code_meaning() -> None:
    unit = code("HU", "99LOCAL", "Hounsfield unit")
    item = content(
        "NUM", code("112031", "DCM", "Attenuation"), MeasuredValueSequence=[measurement("-40", unit)]
    )
    assert outline(sr_document(TITLE, [item])).splitlines()[1] == "  Attenuation: -40 Hounsfield unit"


def test_num_without_units_shows_the_number_alone() -> None:
    no_units = code("1", "UCUM", "no units")
    item = content("NUM", code("111001", "DCM", "Count"), MeasuredValueSequence=[measurement("3", no_units)])
    assert outline(sr_document(TITLE, [item])).splitlines()[1] == "  Count: 3"


def test_num_without_a_measured_value_shows_its_qualifier() -> None:
    item = content(
        "NUM",
        DIAMETER,
        MeasuredValueSequence=Sequence(),
        NumericValueQualifierCodeSequence=[code("114006", "DCM", "Measurement failure")],
    )
    assert outline(sr_document(TITLE, [item])).splitlines()[1] == "  Diameter: (Measurement failure)"


def test_dates_and_times_are_readable() -> None:
    items = [
        content("DATE", code("111060", "DCM", "Study Date"), Date="20240305"),
        content("TIME", code("111061", "DCM", "Study Time"), Time="143015"),
        content("DATETIME", code("111526", "DCM", "DateTime Started"), DateTime="20240305143015"),
    ]
    assert outline(sr_document(TITLE, items)).splitlines()[1:] == [
        "  Study Date: 2024-03-05",
        "  Study Time: 14:30:15",
        "  DateTime Started: 2024-03-05 14:30:15",
    ]


def test_time_fractions_and_offsets_are_kept_after_the_clock_time() -> None:
    items = [
        content("TIME", code("111061", "DCM", "Study Time"), Time="143015.25"),
        content("DATETIME", code("111526", "DCM", "DateTime Started"), DateTime="202403051430+0100"),
    ]
    assert outline(sr_document(TITLE, items)).splitlines()[1:] == [
        "  Study Time: 14:30:15.25",
        "  DateTime Started: 2024-03-05 14:30+0100",
    ]


def test_person_name_and_uid_items() -> None:
    items = [
        content("PNAME", code("121008", "DCM", "Person Observer Name"), PersonName="Smith^Anna"),
        content("UIDREF", code("110180", "DCM", "Study Instance UID"), UID="1.2.826.0.1.3680043.8.498.10"),
    ]
    assert outline(sr_document(TITLE, items)).splitlines()[1:] == [
        "  Person Observer Name: Smith^Anna",
        "  Study Instance UID: 1.2.826.0.1.3680043.8.498.10",
    ]


def test_image_reference_shows_sop_class_instance_and_frames() -> None:
    item = content(
        "IMAGE",
        code("121200", "DCM", "Key image"),
        ReferencedSOPSequence=[sop_reference(CT_IMAGE_STORAGE, "1.2.826.0.1.3680043.8.498.2001", [2, 5])],
    )
    assert outline(sr_document(TITLE, [item])).splitlines()[1] == (
        "  Key image: CT Image Storage 1.2.826.0.1.3680043.8.498.2001 (frames 2, 5)"
    )


def test_image_without_a_concept_name_is_labelled_image() -> None:
    item = content("IMAGE", ReferencedSOPSequence=[sop_reference(CT_IMAGE_STORAGE, "1.2.3.4")])
    assert outline(sr_document(TITLE, [item])).splitlines()[1] == "  Image: CT Image Storage 1.2.3.4"


def test_composite_reference_names_its_sop_class() -> None:
    item = content(
        "COMPOSITE",
        code("121112", "DCM", "Source of Measurement"),
        ReferencedSOPSequence=[sop_reference("1.2.840.10008.5.1.4.1.1.88.22", "1.2.3.5")],
    )
    assert outline(sr_document(TITLE, [item])).splitlines()[1] == (
        "  Source of Measurement: Enhanced SR Storage 1.2.3.5"
    )


def test_coordinates_and_waveforms_are_short_notes() -> None:
    named = content(
        "WAVEFORM",
        code("8867-4", "LN", "Heart rate"),
        ReferencedSOPSequence=[sop_reference("1.2.840.10008.5.1.4.1.1.9.1.1", "1.2.3.7")],
    )
    polyline = content("SCOORD", GraphicType="POLYLINE", GraphicData=[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    point = content("SCOORD3D", GraphicType="POINT", GraphicData=[1.0, 2.0, 3.0])
    interval = content("TCOORD", TemporalRangeType="SEGMENT")
    waveform = content(
        "WAVEFORM", ReferencedSOPSequence=[sop_reference("1.2.840.10008.5.1.4.1.1.9.1.1", "1.2.3.6")]
    )
    assert outline(sr_document(TITLE, [polyline, point, interval, waveform, named])).splitlines()[1:] == [
        "  spatial coordinates (POLYLINE, 3 points)",
        "  3D spatial coordinates (POINT, 1 point)",
        "  temporal coordinates (SEGMENT)",
        "  waveform (12-lead ECG Waveform Storage 1.2.3.6)",
        "  Heart rate: waveform (12-lead ECG Waveform Storage 1.2.3.7)",
    ]


def test_children_of_any_item_are_indented_under_it() -> None:
    inferred = content("IMAGE", ReferencedSOPSequence=[sop_reference(CT_IMAGE_STORAGE, "1.2.3.4")])
    inferred.RelationshipType = "INFERRED FROM"
    num = content("NUM", DIAMETER, MeasuredValueSequence=[measurement("7", MM)], ContentSequence=[inferred])
    assert outline(sr_document(TITLE, [num])).splitlines()[1:] == [
        "  Diameter: 7 mm",
        "    Image: CT Image Storage 1.2.3.4",
    ]


def test_multiline_text_continues_indented() -> None:
    item = content("TEXT", FINDING, TextValue="First line\r\nSecond line")
    assert outline(sr_document(TITLE, [item])).splitlines()[1:] == [
        "  Finding: First line",
        "    Second line",
    ]


def test_by_reference_item_points_to_its_target() -> None:
    item = Dataset()
    item.RelationshipType = "INFERRED FROM"
    item.ReferencedContentItemIdentifier = [1, 2, 3]
    assert outline(sr_document(TITLE, [item])).splitlines()[1] == "  (see content item 1.2.3)"


def test_items_beyond_the_cap_are_cut_with_a_note() -> None:
    items = [content("TEXT", FINDING, TextValue=f"finding {n}") for n in range(1, 21)]
    lines = outline(sr_document(TITLE, items), max_items=5).splitlines()
    assert lines[1:] == [
        "  Finding: finding 1",
        "  Finding: finding 2",
        "  Finding: finding 3",
        "  Finding: finding 4",
        "  Finding: finding 5",
        "[outline cut at 5 items]",
    ]


def test_a_wide_hostile_report_is_capped_at_10000_items() -> None:
    items = [content("TEXT", FINDING, TextValue="x") for _ in range(12_000)]
    lines = outline(sr_document(TITLE, items)).splitlines()
    assert len(lines) == 10_002
    assert lines[-1] == "[outline cut at 10000 items]"


def test_content_deeper_than_the_cap_is_omitted() -> None:
    innermost = root_item = content("CONTAINER", FINDINGS)
    for _ in range(5):
        child = content("CONTAINER", FINDINGS)
        innermost.ContentSequence = [child]
        innermost = child
    assert outline(sr_document(TITLE, [root_item]), max_depth=3).splitlines() == [
        "Diagnostic Imaging Report",
        "  Findings",
        "    Findings",
        "      Findings",
        "        [deeper content omitted]",
    ]


def test_missing_title_has_a_placeholder() -> None:
    report = sr_document(TITLE, [])
    del report.ConceptNameCodeSequence
    assert outline(report) == "Structured report"


def test_report_facts() -> None:
    observer = Dataset()
    observer.VerifyingObserverName = "Smith^Anna"
    observer.VerificationDateTime = "20240306090000"
    report = sr_document(
        TITLE,
        [],
        ContentDate="20240305",
        CompletionFlag="COMPLETE",
        VerificationFlag="VERIFIED",
        VerifyingObserverSequence=[observer],
    )
    assert report_facts(encoded(report)) == {
        "title": "Diagnostic Imaging Report",
        "content_date": "2024-03-05",
        "completion_flag": "COMPLETE",
        "verification_flag": "VERIFIED",
        "verifying_observer": "Smith^Anna",
    }


def test_unverified_report_facts_are_null_where_absent() -> None:
    report = sr_document(
        TITLE, [], ContentDate="20241399", CompletionFlag="PARTIAL", VerificationFlag="UNVERIFIED"
    )
    facts = report_facts(report)
    assert facts["content_date"] is None
    assert facts["verifying_observer"] is None
    assert facts["verification_flag"] == "UNVERIFIED"
