"""Response identifiers become JSON-safe values."""

import json

from pydicom.dataset import Dataset

from dicom_mcp.model.values import shape_identifier


def test_values_are_json_safe() -> None:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = "Müller^Jürgen"
    ds.ModalitiesInStudy = ["CT", "MR"]
    ds.NumberOfStudyRelatedInstances = "12"
    ds.PatientWeight = "71.5"
    ds.StudyDate = ""
    shaped = shape_identifier(
        ds,
        [
            "PatientName",
            "ModalitiesInStudy",
            "NumberOfStudyRelatedInstances",
            "PatientWeight",
            "StudyDate",
            "PatientID",
        ],
    )
    assert shaped == {
        "PatientName": "Müller^Jürgen",
        "ModalitiesInStudy": ["CT", "MR"],
        "NumberOfStudyRelatedInstances": 12,
        "PatientWeight": 71.5,
        "StudyDate": None,
        "PatientID": None,
    }
    json.dumps(shaped)


def test_sequences_become_lists_of_objects() -> None:
    item = Dataset()
    item.CodeValue = "T-A0100"
    ds = Dataset()
    ds.AnatomicRegionSequence = [item]
    assert shape_identifier(ds, ["AnatomicRegionSequence"]) == {
        "AnatomicRegionSequence": [{"CodeValue": "T-A0100"}]
    }
