"""The sample PACS's matching rules (PS3.4 C.2.2.2), one key against one stored value."""

from __future__ import annotations

import pytest
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.tag import Tag

from dicom_mcp.demo.matching import is_universal, matches


def element(keyword: str, value: object) -> DataElement:
    ds = Dataset()
    setattr(ds, keyword, value)
    return ds[keyword]


@pytest.mark.parametrize(
    ("keyword", "query", "stored", "expected"),
    [
        # Universal: empty, or only asterisks; even an attribute the entity lacks.
        ("StudyDescription", "", None, True),
        ("StudyDescription", "*", None, True),
        ("StudyDescription", "**", "CHEST CT", True),
        # Single value: exact, trimmed; case matters except in person names.
        ("AccessionNumber", "ACC1001", "ACC1001", True),
        ("AccessionNumber", "ACC1001", "ACC1001 ", True),
        ("AccessionNumber", "acc1001", "ACC1001", False),
        ("StudyDescription", "CHEST", "CHEST CT", False),
        ("StudyDescription", "CHEST CT", None, False),
        ("SeriesNumber", "2", "2", True),
        ("SeriesNumber", "02", "2", False),  # compared as written, as Orthanc does
        # Wildcards.
        ("StudyDescription", "CHEST*", "CHEST CT", True),
        ("StudyDescription", "*CT*", "BRAIN CT", True),
        ("StudyDescription", "CHEST?CT", "CHEST CT", True),
        ("StudyDescription", "CHEST?CT", "CHEST  CT", False),
        ("StudyDescription", "chest*", "CHEST CT", False),
        ("StudyDescription", "A.B*", "AXB", False),  # a regular expression's dot is just a dot
        ("PatientID", "PAT00?", "PAT001", True),
        # Person names: case-insensitive, whole name or one component group.
        ("PatientName", "smith^john", "SMITH^JOHN", True),
        ("PatientName", "SMITH^JOHN^", "SMITH^JOHN", True),
        ("PatientName", "smith*", "SMITH^JANE", True),
        ("PatientName", "*JOHN", "SMITH^JOHN", True),
        ("PatientName", "SMITH", "SMITH^JOHN", False),
        ("PatientName", "MÜLLER*", "Müller^Jürgen", True),
        ("PatientName", "Yamada*", "Yamada^Tarou=山田^太郎=やまだ^たろう", True),
        ("PatientName", "山田^太郎", "Yamada^Tarou=山田^太郎=やまだ^たろう", True),
        ("PatientName", "Yamada^Tarou", "Yamada^Tarou=山田^太郎=やまだ^たろう", True),
        ("ReferringPhysicianName", "referrer*", "REFERRER^DEFAULT", True),
        # Dates: single value and ranges, both ends included.
        ("StudyDate", "20190611", "20190611", True),
        ("StudyDate", "2019", "20190611", False),
        ("StudyDate", "20190101-20191231", "20190611", True),
        ("StudyDate", "20190611-20190611", "20190611", True),
        ("StudyDate", "20190612-", "20190611", False),
        ("StudyDate", "-20190611", "20190611", True),
        ("StudyDate", "2019*", "20190611", False),  # no wildcards in dates
        # Times: a partial time stands for its whole span.
        ("StudyTime", "093000", "093000", True),
        ("StudyTime", "0930", "093012.5", True),
        ("StudyTime", "090000-120000", "120000", True),
        ("StudyTime", "0900-1200", "120059", True),
        ("StudyTime", "0900-1200", "120100", False),
        ("StudyTime", "-1000", "093000", True),
        ("StudyTime", "1000-", "093000", False),
        # Date-times: ranges, partial values, and a UTC offset that is not a range's dash.
        ("AcquisitionDateTime", "2022-2023", "20220916113000", True),
        ("AcquisitionDateTime", "20220916-", "20220916113000", True),
        ("AcquisitionDateTime", "202209161130", "20220916113059", True),
        ("AcquisitionDateTime", "20220916113000-0500", "20220916113000", True),
        # UIDs: exact, no wildcards, lists.
        ("StudyInstanceUID", "1.2.3", "1.2.3", True),
        ("StudyInstanceUID", "1.2.*", "1.2.3", False),
        ("StudyInstanceUID", ["1.2.3", "1.2.4"], "1.2.4", True),
        ("StudyInstanceUID", ["1.2.3", "1.2.4"], "1.2.5", False),
        # Several values on either side: any pair.
        ("ModalitiesInStudy", "MR", ["CT", "MR"], True),
        ("ModalitiesInStudy", ["CT", "MR"], ["MR"], True),
        ("ModalitiesInStudy", "C*", ["MR", "CR"], True),
        ("ModalitiesInStudy", "DX", ["CT", "MR"], False),
        ("Modality", "ct", "CT", False),
    ],
)
def test_one_key_against_one_value(keyword: str, query: object, stored: object, expected: bool) -> None:
    key = element(keyword, query)
    assert matches(key, None if stored is None else element(keyword, stored)) is expected


def code(value: str, scheme: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator = value, scheme
    return item


def test_a_sequence_matches_when_one_stored_item_matches_every_key_of_the_query_item() -> None:
    stored = element("ProcedureCodeSequence", [code("RPID16", "RADLEX"), code("123", "LOCAL")])
    assert matches(element("ProcedureCodeSequence", [code("123", "LOCAL")]), stored)
    assert not matches(element("ProcedureCodeSequence", [code("123", "RADLEX")]), stored)
    assert not matches(element("ProcedureCodeSequence", [code("123", "")]), None)


def test_an_empty_sequence_or_one_of_empty_keys_only_asks_for_the_attribute() -> None:
    empty_item = element("ProcedureCodeSequence", [code("", "")])
    assert is_universal(element("ProcedureCodeSequence", []))
    assert is_universal(empty_item)
    assert matches(empty_item, None)


def test_a_binary_or_unknown_value_never_narrows_a_match() -> None:
    blob = DataElement(Tag(0x00291010), "OB", b"\x01\x02")
    assert is_universal(blob)
    assert matches(blob, None)
