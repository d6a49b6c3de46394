"""One call's answer as a pseudonymised caller reads it: every tool shape, through one rewrite."""

from __future__ import annotations

import base64
import json
import logging
import re
from io import BytesIO
from typing import Any

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from dicom_mcp.privacy.answers import SCRUBBED, WITHHELD_TEXT, Answer, DateFilter
from dicom_mcp.privacy.disclosure import Disclosure
from dicom_mcp.privacy.keys import PseudonymKeys
from dicom_mcp.privacy.pseudonyms import ACCESSION, PATIENT_ID, UID, shift_date
from dicom_mcp.viewer.models import IMAGES_META

P = PseudonymKeys(b"an operator secret of at least 32 bytes").for_principal("researcher")
PATIENT, NAME, BIRTH = "PID0001", "Doe^Jane", "19700101"
OTHER_PATIENT = "PID0002"
ACC, STUDY_DATE = "ACC20240305", "20240305"
STUDY_UID = "1.2.826.0.1.3680043.8.498.10"
SERIES_UID = "1.2.826.0.1.3680043.8.498.11"
SOP_UID = "1.2.826.0.1.3680043.8.498.1001"
OTHER_SOP_UID = "1.2.826.0.1.3680043.8.498.1002"
SR_UID = "1.2.826.0.1.3680043.8.498.3001"
PDF_UID = "1.2.826.0.1.3680043.8.498.4001"
CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"
# Nothing of these may reach a pseudonymised caller.
CANARIES = (
    PATIENT,
    "Doe",
    "Jane",
    BIRTH,
    ACC,
    STUDY_UID,
    SERIES_UID,
    SOP_UID,
    "Brown",
    "Carol",
    "General Hospital",
)
TOKEN = re.compile(r"2\.25\.[0-9]+|[PAS]-[A-Z2-7]{12}")
DAYS = P.offset(PATIENT)


def moved(date: str, patient: str = PATIENT) -> str:
    return str(shift_date(date, P.offset(patient)))


def iso(date: str) -> str:
    return f"{date[:4]}-{date[4:6]}-{date[6:]}"


def tool_answer(structured: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A tool's result as its wire dict: the structured result, and its JSON in a text block."""
    return {
        "content": [{"type": "text", "text": json.dumps(structured)}],
        "structuredContent": structured,
        "isError": False,
        **extra,
    }


def rewrite(
    answer: dict[str, Any],
    disclosure: Disclosure | None = None,
    patient: str | None = None,
    originals: dict[str, str] | None = None,
    date_filter: DateFilter | None = None,
) -> tuple[dict[str, Any], Answer]:
    rewriter = Answer(
        P,
        disclosure or Disclosure(),
        patient=patient,
        originals=originals or {},
        pictures_meta=IMAGES_META,
        date_filter=date_filter,
    )
    return rewriter.rewrite(answer), rewriter


def assert_no_canary(out: dict[str, Any]) -> None:
    written = json.dumps(out, ensure_ascii=False)
    assert [canary for canary in CANARIES if canary in written] == []


def study_match(**changes: Any) -> dict[str, Any]:
    return {
        "PatientID": PATIENT,
        "PatientName": NAME,
        "PatientBirthDate": BIRTH,
        "PatientSex": "F",
        "StudyDate": STUDY_DATE,
        "StudyTime": "141500",
        "StudyInstanceUID": STUDY_UID,
        "AccessionNumber": ACC,
        "StudyID": "1",
        "StudyDescription": "CT Thorax, Jane DOE, ordered by Dr Brown",
        "ReferringPhysicianName": "Brown^Carol",
        "InstitutionName": "General Hospital",
        "ModalitiesInStudy": ["CT", "SR"],
        "NumberOfStudyRelatedInstances": 3,
        **changes,
    }


def query_result(*matches: dict[str, Any]) -> dict[str, Any]:
    return {
        "level": "STUDY",
        "node": "pacs",
        "called_ae_title": "PACS",
        "count": len(matches),
        "truncated": False,
        "limit": 50,
        "matches": list(matches),
    }


# --- query results ------------------------------------------------------------------------------


def test_a_query_match_follows_annex_e() -> None:
    out, _ = rewrite(tool_answer(query_result(study_match())))
    assert out["structuredContent"] == {
        "level": "STUDY",
        "node": "pacs",
        "called_ae_title": "PACS",
        "count": 1,
        "truncated": False,
        "limit": 50,
        "matches": [
            {
                "PatientID": P.token(PATIENT_ID, PATIENT),
                "PatientName": "PATIENT^" + P.token(PATIENT_ID, PATIENT),
                "PatientAge": "054Y",  # in place of the birth date
                "PatientSex": "F",
                "StudyDate": moved(STUDY_DATE),
                "StudyTime": "141500",
                "StudyInstanceUID": P.token(UID, STUDY_UID),
                "AccessionNumber": P.token(ACCESSION, ACC),
                "StudyID": P.token("study_id", "1"),
                "StudyDescription": "CT Thorax, [name] [name], ordered by Dr [name]",
                "ModalitiesInStudy": ["CT", "SR"],
                "NumberOfStudyRelatedInstances": 3,
            }
        ],
    }
    assert out["isError"] is False
    assert_no_canary(out)


def test_the_text_block_says_what_the_structured_result_says() -> None:
    out, _ = rewrite(tool_answer(query_result(study_match())))
    assert json.loads(out["content"][0]["text"]) == out["structuredContent"]


def test_each_row_moves_by_its_own_patients_offset() -> None:
    rows = [study_match(), study_match(PatientID=OTHER_PATIENT, StudyInstanceUID=STUDY_UID + ".2")]
    out, _ = rewrite(tool_answer(query_result(*rows)))
    dates = [row["StudyDate"] for row in out["structuredContent"]["matches"]]
    assert dates == [moved(STUDY_DATE), moved(STUDY_DATE, OTHER_PATIENT)]
    assert P.offset(PATIENT) != P.offset(OTHER_PATIENT)


def test_a_date_with_no_patient_to_move_it_by_is_left_out() -> None:
    row = {"StudyDate": STUDY_DATE, "StudyInstanceUID": STUDY_UID}
    out, _ = rewrite(tool_answer(query_result(row)))
    assert out["structuredContent"]["matches"][0]["StudyDate"] is None


def test_the_calls_own_patient_moves_rows_without_a_patient_id() -> None:
    row = {"SeriesDate": STUDY_DATE, "SeriesInstanceUID": SERIES_UID, "Modality": "CT"}
    out, _ = rewrite(tool_answer(query_result(row)), patient=PATIENT)
    assert out["structuredContent"]["matches"][0] == {
        "SeriesDate": moved(STUDY_DATE),
        "SeriesInstanceUID": P.token(UID, SERIES_UID),
        "Modality": "CT",
    }


@pytest.mark.parametrize(
    ("birth", "study", "age"),
    [
        ("19700101", "20240305", "054Y"),
        ("19700306", "20240305", "053Y"),  # the day before the birthday
        ("19700305", "20240305", "054Y"),
        ("20230101", "20240305", "014M"),
        ("20240101", "20240305", "002M"),
    ],
)
def test_the_patients_age_at_the_study_replaces_the_birth_date(birth: str, study: str, age: str) -> None:
    out, _ = rewrite(tool_answer(query_result(study_match(PatientBirthDate=birth, StudyDate=study))))
    row = out["structuredContent"]["matches"][0]
    assert row["PatientAge"] == age
    assert "PatientBirthDate" not in row


def test_an_age_the_pacs_gave_is_kept_as_given() -> None:
    out, _ = rewrite(tool_answer(query_result(study_match(PatientAge="053Y"))))
    assert out["structuredContent"]["matches"][0]["PatientAge"] == "053Y"


def test_a_date_filter_keeps_the_rows_inside_the_shifted_range() -> None:
    inside = study_match()
    outside = study_match(PatientID=OTHER_PATIENT, StudyInstanceUID=STUDY_UID + ".2")
    wanted = moved(STUDY_DATE)
    flt = DateFilter("StudyDate", wanted, wanted, limit=10)
    out, _ = rewrite(tool_answer({**query_result(inside, outside), "limit": 1000}), date_filter=flt)
    structured = out["structuredContent"]
    assert [row["PatientID"] for row in structured["matches"]] == [P.token(PATIENT_ID, PATIENT)]
    assert (structured["count"], structured["limit"], structured["truncated"]) == (1, 10, False)
    assert json.loads(out["content"][0]["text"]) == structured


def test_a_date_filter_cuts_at_the_callers_limit() -> None:
    rows = [study_match(StudyInstanceUID=f"{STUDY_UID}.{n}") for n in range(3)]
    wanted = moved(STUDY_DATE)
    out, _ = rewrite(tool_answer(query_result(*rows)), date_filter=DateFilter("StudyDate", wanted, "", 2))
    structured = out["structuredContent"]
    assert (structured["count"], structured["truncated"]) == (2, True)


# --- headers ------------------------------------------------------------------------------------


def header_result() -> dict[str, Any]:
    return {
        "sop_instance_uid": SOP_UID,
        "sop_class_uid": CT_IMAGE_STORAGE,
        "sop_class": "CT Image Storage",
        "transfer_syntax": EXPLICIT_VR_LITTLE_ENDIAN,
        "attributes": {
            "SOPClassUID": CT_IMAGE_STORAGE,
            "SOPInstanceUID": SOP_UID,
            "PatientID": PATIENT,
            "PatientName": NAME,
            "PatientBirthDate": BIRTH,
            "StudyDate": STUDY_DATE,
            "ContentDate": STUDY_DATE,
            "AcquisitionDateTime": STUDY_DATE + "141830.25",
            "StudyDescription": "CT ordered by Dr Brown",
            "InstitutionName": "General Hospital",
            "Modality": "CT",
            "ImageType": ["ORIGINAL", "PRIMARY", "AXIAL"],
            "Rows": 512,
            "PixelSpacing": [0.703125, 0.703125],
            "RequestAttributesSequence": [{"RequestedProcedureID": "RP1"}],
            "ReferencedSeriesSequence": [
                {
                    "SeriesInstanceUID": SERIES_UID,
                    "ReferencedInstanceSequence": [
                        {"ReferencedSOPClassUID": CT_IMAGE_STORAGE, "ReferencedSOPInstanceUID": OTHER_SOP_UID}
                    ],
                }
            ],
            "ContentSequence": [
                {
                    "ValueType": "PNAME",
                    "PersonName": "Brown^Carol",
                    "ConceptNameCodeSequence": [
                        {
                            "CodeValue": "121008",
                            "CodingSchemeDesignator": "DCM",
                            "CodeMeaning": "Person Observer",
                        }
                    ],
                }
            ],
            "(0009,0010)": {"vr": "LO", "value": "Doe^Jane"},
            "(0009,1001)": {"vr": "LO", "value": PATIENT},
            "PixelData": {"bulk_data": True, "vr": "OW", "bytes": 524288},
        },
        "truncated": False,
    }


def test_a_header_follows_annex_e_through_its_sequences() -> None:
    out, _ = rewrite(tool_answer(header_result()))
    structured = out["structuredContent"]
    assert structured["sop_instance_uid"] == P.token(UID, SOP_UID)
    assert structured["sop_class_uid"] == CT_IMAGE_STORAGE  # registered: kept
    assert structured["sop_class"] == "CT Image Storage"
    assert structured["transfer_syntax"] == EXPLICIT_VR_LITTLE_ENDIAN
    assert structured["truncated"] is False
    assert structured["attributes"] == {
        "SOPClassUID": CT_IMAGE_STORAGE,
        "SOPInstanceUID": P.token(UID, SOP_UID),
        "PatientID": P.token(PATIENT_ID, PATIENT),
        "PatientName": "PATIENT^" + P.token(PATIENT_ID, PATIENT),
        "PatientAge": "054Y",
        "StudyDate": moved(STUDY_DATE),
        "ContentDate": moved(STUDY_DATE),
        "AcquisitionDateTime": moved(STUDY_DATE) + "141830.25",
        "StudyDescription": "CT ordered by Dr [name]",  # a name found deep in a sequence
        "Modality": "CT",
        "ImageType": ["ORIGINAL", "PRIMARY", "AXIAL"],
        "Rows": 512,
        "PixelSpacing": [0.703125, 0.703125],
        "ReferencedSeriesSequence": [
            {
                "SeriesInstanceUID": P.token(UID, SERIES_UID),
                "ReferencedInstanceSequence": [
                    {
                        "ReferencedSOPClassUID": CT_IMAGE_STORAGE,
                        "ReferencedSOPInstanceUID": P.token(UID, OTHER_SOP_UID),
                    }
                ],
            }
        ],
        "ContentSequence": [
            {
                "ValueType": "PNAME",
                "ConceptNameCodeSequence": [
                    {"CodeValue": "121008", "CodingSchemeDesignator": "DCM", "CodeMeaning": "Person Observer"}
                ],
            }
        ],
        "PixelData": {"bulk_data": True, "vr": "OW", "bytes": 524288},
    }
    assert_no_canary(out)


def test_a_header_read_without_its_pixel_data_keeps_its_note() -> None:
    result = header_result()
    result["attributes"]["PixelData"] = {"bulk_data": True, "vr": "OW", "bytes": None}
    result["note"] = "pixel data not retrieved: the instance is larger than the byte cap per call"
    out, _ = rewrite(tool_answer(result))
    structured = out["structuredContent"]
    assert structured["note"] == result["note"]
    assert structured["attributes"]["PixelData"] == {"bulk_data": True, "vr": "OW", "bytes": None}


# --- reports ------------------------------------------------------------------------------------

SR_OUTLINE = (
    "Diagnostic Imaging Report\n"
    "  Finding: [free text withheld in the pseudonymised view]\n"
    f"  Study date: {iso(STUDY_DATE)}\n"
    f"  Prior: {SOP_UID}"
)
PDF_TEXT = f"Patient: Jane Doe, born 01.01.1970, MRN {PATIENT}.\nExamined on 05.03.2024. Signed: C. Brown"


def reports_result() -> dict[str, Any]:
    common = {"completion_flag": "COMPLETE", "verification_flag": "VERIFIED", "truncated": False}
    return {
        "study_instance_uid": STUDY_UID,
        "reports": [
            {
                "sop_instance_uid": SR_UID,
                "series_instance_uid": SERIES_UID,
                "kind": "sr",
                "title": "Diagnostic Imaging Report",
                "content_date": iso(STUDY_DATE),
                "verifying_observer": "Brown^Carol",
                "text": SR_OUTLINE,
                **common,
            },
            {
                "sop_instance_uid": PDF_UID,
                "series_instance_uid": SERIES_UID,
                "kind": "pdf",
                "title": "Report of Jane Doe",
                "content_date": iso(STUDY_DATE),
                "verifying_observer": None,
                "text": PDF_TEXT,
                **common,
            },
        ],
    }


def noted(text: str = "withhold", redacted: bool = True) -> Disclosure:
    """What the sandbox notes when it reads the two reports for a pseudonymised caller."""
    disclosure = Disclosure(text=text, redacted=redacted)
    for sop in (SR_UID, PDF_UID):
        disclosure.note(
            {
                "PatientID": PATIENT,
                "PatientName": NAME,
                "PatientBirthDate": BIRTH,
                "AccessionNumber": ACC,
                "StudyDate": STUDY_DATE,
                "SOPInstanceUID": sop,
                "OtherPatientIDs": [],
                "names": [NAME, "Brown^Carol"],
            }
        )
    return disclosure


def test_reports_keep_their_facts_with_dates_moved_and_the_observer_removed() -> None:
    out, _ = rewrite(tool_answer(reports_result()), noted())
    sr, pdf = out["structuredContent"]["reports"]
    assert out["structuredContent"]["study_instance_uid"] == P.token(UID, STUDY_UID)
    assert sr["sop_instance_uid"] == P.token(UID, SR_UID)
    assert sr["content_date"] == pdf["content_date"] == iso(moved(STUDY_DATE))
    assert sr["verifying_observer"] is None
    assert pdf["title"] == "Report of [name] [name]"
    assert (sr["completion_flag"], sr["verification_flag"]) == ("COMPLETE", "VERIFIED")


def test_withheld_free_text_keeps_the_redacted_sr_outline_and_withholds_the_pdf() -> None:
    out, _ = rewrite(tool_answer(reports_result()), noted())
    sr, pdf = out["structuredContent"]["reports"]
    assert sr["text"] == (
        "Diagnostic Imaging Report\n"
        "  Finding: [free text withheld in the pseudonymised view]\n"
        f"  Study date: {iso(moved(STUDY_DATE))}\n"
        f"  Prior: {P.token(UID, SOP_UID)}"
    )
    assert pdf["text"] == WITHHELD_TEXT
    assert_no_canary(out)


def test_an_sr_outline_not_written_for_the_view_is_withheld_whole() -> None:
    out, _ = rewrite(tool_answer(reports_result()), noted(redacted=False))
    assert [report["text"] for report in out["structuredContent"]["reports"]] == [WITHHELD_TEXT] * 2


def test_scrubbed_free_text_is_labelled_and_loses_the_patients_identifiers() -> None:
    out, _ = rewrite(tool_answer(reports_result()), noted(text="scrub"))
    sr, pdf = out["structuredContent"]["reports"]
    assert sr["text"].startswith(SCRUBBED)
    assert pdf["text"] == SCRUBBED + (
        f"Patient: [name] [name], born [birth date], MRN {P.token(PATIENT_ID, PATIENT)}.\n"
        f"Examined on {moved(STUDY_DATE)[6:]}.{moved(STUDY_DATE)[4:6]}.{moved(STUDY_DATE)[:4]}. "
        "Signed: C. [name]"
    )
    assert_no_canary(out)


def test_why_a_report_is_unreadable_is_cleaned_not_withheld() -> None:
    unreadable = {
        "sop_instance_uid": PDF_UID,
        "series_instance_uid": SERIES_UID,
        "kind": "unreadable",
        "text": f"the document of {PDF_UID} is damaged",
        "truncated": False,
    }
    out, _ = rewrite(tool_answer({"study_instance_uid": STUDY_UID, "reports": [unreadable]}), noted())
    assert (
        out["structuredContent"]["reports"][0]["text"]
        == f"the document of {P.token(UID, PDF_UID)} is damaged"
    )


def test_a_short_numeric_study_id_does_not_corrupt_measurements() -> None:
    # Study IDs are often small numbers ("12"); as a known value, every "12" of the text became
    # the Study ID's token, "Diameter: 12.5 mm" included.
    disclosure = noted()
    disclosure.note({"PatientID": PATIENT, "StudyID": "12", "names": []})
    report = {**reports_result()["reports"][0], "text": "Diagnostic Imaging Report\n  Diameter: 12.5 mm"}
    out, _ = rewrite(tool_answer({"study_instance_uid": STUDY_UID, "reports": [report]}), disclosure)
    assert out["structuredContent"]["reports"][0]["text"].endswith("Diameter: 12.5 mm")


def test_each_part_of_a_hyphenated_surname_is_replaced() -> None:
    # Reports write "Mrs Smith" of a patient named Smith-Jones^Ann: the parts are names too.
    row = study_match(PatientName="Smith-Jones^Ann", StudyDescription="CT for Mrs Smith, Ann Smith-Jones")
    out, _ = rewrite(tool_answer(query_result(row)))
    assert out["structuredContent"]["matches"][0]["StudyDescription"] == "CT for Mrs [name], [name] [name]"


# --- errors -------------------------------------------------------------------------------------


def test_an_error_quoting_a_uid_and_a_patient_id_quotes_their_tokens() -> None:
    pid_token, uid_token = P.token(PATIENT_ID, PATIENT), P.token(UID, STUDY_UID)
    answer = {
        "content": [{"type": "text", "text": f"no series in study {STUDY_UID} of patient {PATIENT} on pacs"}],
        "isError": True,
    }
    out, _ = rewrite(answer, patient=PATIENT, originals={PATIENT: pid_token, STUDY_UID: uid_token})
    assert out == {
        "content": [
            {"type": "text", "text": f"no series in study {uid_token} of patient {pid_token} on pacs"}
        ],
        "isError": True,
    }


# --- pictures -----------------------------------------------------------------------------------


def png(text: str | None = None) -> str:
    info = PngInfo()
    if text:
        info.add_text("Comment", text)
    out = BytesIO()
    Image.new("L", (8, 8), 128).save(out, format="PNG", pnginfo=info)
    return base64.b64encode(out.getvalue()).decode()


def render_answer() -> dict[str, Any]:
    summary = {
        "rows": 512,
        "columns": 512,
        "number_of_frames": 1,
        "frame": 1,
        "photometric_interpretation": "MONOCHROME2",
        "window": {"center": 40.0, "width": 400.0, "source": "instance"},
        "transfer_syntax": EXPLICIT_VR_LITTLE_ENDIAN,
        "output_size": {"width": 512, "height": 512},
        "png_bytes": 1234,
    }
    return {
        "content": [
            {"type": "image", "data": png("Doe^Jane"), "mimeType": "image/png"},
            {"type": "text", "text": json.dumps(summary)},
        ],
        "structuredContent": summary,
        "isError": False,
    }


def test_an_image_nobody_vetted_is_withheld() -> None:
    out, _ = rewrite(render_answer(), Disclosure())
    assert out == {
        "content": [
            {"type": "text", "text": "withheld: the picture was not vetted for the pseudonymised view"}
        ],
        "isError": True,
    }


def test_a_vetted_image_is_shown_without_its_text_chunks() -> None:
    disclosure = Disclosure()
    disclosure.shown.add(SOP_UID)
    answer = render_answer()
    out, _ = rewrite(answer, disclosure)
    image, text = out["content"]
    assert image["type"] == "image" and image["mimeType"] == "image/png"
    assert b"Doe^Jane" not in base64.b64decode(image["data"])
    Image.open(BytesIO(base64.b64decode(image["data"]))).load()
    assert out["structuredContent"] == answer["structuredContent"]  # nothing in a summary identifies
    assert json.loads(text["text"]) == answer["structuredContent"]


def thumbnails_answer(mime_type: str = "image/png", data: str | None = None) -> dict[str, Any]:
    thumbnail = {"instance_number": 1, "width": 8, "height": 8, "mime_type": mime_type, "bytes": 100}
    structured = {
        "study_instance_uid": STUDY_UID,
        "thumbnails": [
            {"series_instance_uid": SERIES_UID, "sop_instance_uid": SOP_UID, **thumbnail},
            {"series_instance_uid": SERIES_UID + ".2", "sop_instance_uid": OTHER_SOP_UID, **thumbnail},
        ],
        "skipped": [
            {"series_instance_uid": SERIES_UID + ".3", "reason": "withheld: US images may carry text"}
        ],
        "remaining": [SERIES_UID + ".4"],
        "bytes": 200,
    }
    pictures = [
        {"uid": uid, "mimeType": mime_type, "data": data or png("Doe^Jane")}
        for uid in (SOP_UID, OTHER_SOP_UID)
    ]
    return tool_answer(structured, _meta={IMAGES_META: pictures, "other": f"about {STUDY_UID}"})


def test_meta_pictures_are_kept_only_when_vetted() -> None:
    disclosure = Disclosure()
    disclosure.shown.add(SOP_UID)  # the other instance's picture was never vetted
    out, _ = rewrite(thumbnails_answer(), disclosure, patient=PATIENT)
    pictures = out["_meta"][IMAGES_META]
    assert [picture["uid"] for picture in pictures] == [P.token(UID, SOP_UID)]
    assert pictures[0]["uid"] == out["structuredContent"]["thumbnails"][0]["sop_instance_uid"]
    assert b"Doe^Jane" not in base64.b64decode(pictures[0]["data"])
    assert out["_meta"]["other"] == f"about {P.token(UID, STUDY_UID)}"
    assert out["structuredContent"]["remaining"] == [P.token(UID, SERIES_UID + ".4")]
    assert out["structuredContent"]["skipped"][0]["reason"] == "withheld: US images may carry text"
    assert_no_canary(out)


def test_a_vetted_jpeg_picture_keeps_its_pixels() -> None:
    # The viewer sends JPEG when a PNG does not fit its byte budget (reading/pictures.py).
    out_jpeg = BytesIO()
    Image.new("L", (8, 8), 128).save(out_jpeg, format="JPEG")
    jpeg = base64.b64encode(out_jpeg.getvalue()).decode()
    disclosure = Disclosure()
    disclosure.shown.add(SOP_UID)
    out, _ = rewrite(thumbnails_answer("image/jpeg", jpeg), disclosure, patient=PATIENT)
    (picture,) = out["_meta"][IMAGES_META]
    assert picture["mimeType"] == "image/jpeg"
    Image.open(BytesIO(base64.b64decode(picture["data"]))).load()


# --- the viewer and the service's own results -----------------------------------------------------


def test_the_viewers_study_and_its_prose_lose_the_identifiers() -> None:
    series = {
        "series_instance_uid": SERIES_UID,
        "series_number": 3,
        "modality": "CT",
        "series_description": "Thorax for Jane Doe",
        "instances": 120,
        "kind": "image",
    }
    structured = {"study_instance_uid": STUDY_UID, "node": "pacs", "series": [series], "truncated": False}
    prose = f'Study {STUDY_UID}: 1 series - CT x1\n- series 3 CT "Thorax for Jane Doe": 120 instances (image)'
    answer = {"content": [{"type": "text", "text": prose}], "structuredContent": structured, "isError": False}
    out, _ = rewrite(answer, noted(), patient=PATIENT)
    assert out["structuredContent"]["series"] == [
        {
            **series,
            "series_instance_uid": P.token(UID, SERIES_UID),
            "series_description": "Thorax for [name] [name]",
        }
    ]
    assert out["content"][0]["text"] == (
        f"Study {P.token(UID, STUDY_UID)}: 1 series - CT x1\n"
        '- series 3 CT "Thorax for [name] [name]": 120 instances (image)'
    )


def test_a_result_with_nothing_identifying_is_unchanged() -> None:
    nodes = {
        "default": "pacs",
        "nodes": [
            {
                "name": "pacs",
                "description": "The main PACS",
                "ae_title": "PACS",
                "host": None,
                "port": None,
                "tls": False,
                "move_destination": False,
                "protocol": "dimse",
            }
        ],
        "ad_hoc_targets_allowed": False,
    }
    out, rewriter = rewrite(tool_answer(nodes))
    assert out["structuredContent"] == nodes
    assert rewriter.emitted == {}


def test_a_field_nobody_classified_is_left_out(caplog: pytest.LogCaptureFixture) -> None:
    structured = {"study_instance_uid": STUDY_UID, "new_field": "Doe^Jane", "count": 1}
    with caplog.at_level(logging.WARNING, logger="dicom_mcp.privacy.answers"):
        out, _ = rewrite(tool_answer(structured))
    assert out["structuredContent"] == {"study_instance_uid": P.token(UID, STUDY_UID), "count": 1}
    assert json.loads(out["content"][0]["text"]) == out["structuredContent"]
    assert "new_field" in caplog.text


# --- what one answer teaches the next -------------------------------------------------------------


def test_an_answer_learns_each_patients_identifying_values() -> None:
    _, rewriter = rewrite(tool_answer(query_result(study_match())))
    assert rewriter.identities.by_patient == {
        PATIENT: {
            "PatientID": PATIENT,
            "PatientName": NAME,
            "PatientBirthDate": BIRTH,
            "AccessionNumber": [ACC],
            "StudyID": ["1"],
        }
    }


def test_what_an_earlier_answer_learnt_cleans_a_later_one() -> None:
    row = {"SeriesInstanceUID": SERIES_UID, "SeriesDescription": "Thorax of Jane Doe, ACC20240305"}
    answer = tool_answer(query_result(row))
    rewriter = Answer(
        P,
        Disclosure(),
        patient=PATIENT,
        originals={},
        pictures_meta=IMAGES_META,
        identity={"PatientID": PATIENT, "PatientName": NAME, "AccessionNumber": [ACC]},
    )
    out = rewriter.rewrite(answer)
    assert out["structuredContent"]["matches"][0]["SeriesDescription"] == (
        f"Thorax of [name] [name], {P.token(ACCESSION, ACC)}"
    )


# --- the reverse map's entries -------------------------------------------------------------------


def test_every_token_written_is_emitted_with_its_original_and_patient() -> None:
    disclosure = noted(text="scrub")
    disclosure.shown.add(SOP_UID)
    answers = [
        tool_answer(query_result(study_match())),
        tool_answer(header_result()),
        tool_answer(reports_result()),
        thumbnails_answer(),
    ]
    for answer in answers:
        out, rewriter = rewrite(answer, disclosure)
        written = set(TOKEN.findall(json.dumps(out)))
        assert written
        assert written <= {token for _, token in rewriter.emitted}
        for (kind, token), (original, patient) in rewriter.emitted.items():
            assert P.token(kind, original) == token
            assert patient == PATIENT


def test_emitted_names_each_tokens_kind() -> None:
    _, rewriter = rewrite(tool_answer(query_result(study_match())))
    assert rewriter.emitted == {
        (PATIENT_ID, P.token(PATIENT_ID, PATIENT)): (PATIENT, PATIENT),
        (ACCESSION, P.token(ACCESSION, ACC)): (ACC, PATIENT),
        ("study_id", P.token("study_id", "1")): ("1", PATIENT),
        (UID, P.token(UID, STUDY_UID)): (STUDY_UID, PATIENT),
    }


def test_a_uid_that_is_not_digits_and_dots_is_still_tokenised_everywhere() -> None:
    # Some PACS hold hexadecimal or UUID-like "UIDs" (accepted as arguments since issue 27):
    # they identify an instance as well as a numeric one, so they never reach the caller.
    odd = "3f1c2a9e8b7d4c6e5f0a1b2c3d4e5f60"
    row = study_match(StudyInstanceUID=odd, StudyDescription=f"see {odd}")
    out, rewriter = rewrite(tool_answer(query_result(row)))
    assert odd not in json.dumps(out)
    token = out["structuredContent"]["matches"][0]["StudyInstanceUID"]
    assert token.startswith("2.25.") and rewriter.emitted[("uid", token)][0] == odd
