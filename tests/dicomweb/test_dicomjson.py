"""DICOM JSON becomes the values C-FIND answers carry: each case checked against pydicom's own
reading of the same JSON, shaped by the DIMSE side's conventions (`values.shape_identifier`)."""

from __future__ import annotations

from typing import Any

import pytest
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset

from dicom_mcp.dicomweb.dicomjson import NotDicomJson, element_value, shape
from dicom_mcp.model.values import shape_identifier

CASES: list[tuple[str, dict[str, Any]]] = [
    ("PatientName", {"vr": "PN", "Value": [{"Alphabetic": "SMITH^JOHN"}]}),
    (
        "PatientName",
        {
            "vr": "PN",
            "Value": [
                {"Alphabetic": "Yamada^Tarou", "Ideographic": "山田^太郎", "Phonetic": "やまだ^たろう"}
            ],
        },
    ),
    ("PatientName", {"vr": "PN", "Value": [{"Ideographic": "山田^太郎"}]}),
    ("PatientName", {"vr": "PN"}),
    ("OtherPatientNames", {"vr": "PN", "Value": [{"Alphabetic": "A^B"}, {"Alphabetic": "C^D"}]}),
    ("StudyDate", {"vr": "DA", "Value": ["20240102"]}),
    ("ModalitiesInStudy", {"vr": "CS", "Value": ["CT", "MR"]}),
    ("NumberOfStudyRelatedInstances", {"vr": "IS", "Value": [1051]}),
    ("NumberOfStudyRelatedInstances", {"vr": "IS", "Value": ["12"]}),
    ("SliceThickness", {"vr": "DS", "Value": [1.25]}),
    ("PixelSpacing", {"vr": "DS", "Value": [0.5, "0.75"]}),
    ("Rows", {"vr": "US", "Value": [512]}),
    ("StudyDescription", {"vr": "LO", "Value": ["Thorax ü"]}),
    ("ImageType", {"vr": "CS", "Value": ["ORIGINAL", "PRIMARY"]}),
    ("AccessionNumber", {"vr": "SH", "Value": [""]}),
    ("IconImageSequence", {"vr": "SQ", "Value": [{"00280010": {"vr": "US", "Value": [8]}}]}),
    (
        "ProcedureCodeSequence",
        {
            "vr": "SQ",
            "Value": [
                {"00080100": {"vr": "SH", "Value": ["X1"]}, "00080104": {"vr": "LO", "Value": ["CT HEAD"]}}
            ],
        },
    ),
]


@pytest.mark.parametrize(("keyword", "element"), CASES)
def test_values_match_the_dimse_conventions(keyword: str, element: dict[str, Any]) -> None:
    tag = f"{tag_for_keyword(keyword):08X}"
    expected = shape_identifier(Dataset.from_json({tag: element}), [keyword])
    assert shape({tag: element}, [keyword]) == expected


def test_binary_data_is_summarised() -> None:
    assert element_value({"vr": "OB", "InlineBinary": "AAECAw=="}) == "<4 bytes of binary data omitted>"
    assert element_value({"vr": "OW", "BulkDataURI": "http://x/bulk"}) == "<binary data omitted>"


def test_absent_attributes_are_none() -> None:
    assert shape({}, ["PatientName", "StudyDate"]) == {"PatientName": None, "StudyDate": None}


@pytest.mark.parametrize(
    "element",
    [
        "not an object",
        {"Value": ["no vr"]},
        {"vr": "LO", "Value": "not an array"},
        {"vr": "IS", "Value": ["twelve"]},
        {"vr": "PN", "Value": [["not", "an", "object"]]},
        {"vr": "SQ", "Value": ["not an item"]},
        {"vr": "OB", "InlineBinary": "***"},
    ],
)
def test_malformed_elements_are_refused(element: object) -> None:
    with pytest.raises(NotDicomJson):
        element_value(element)
