"""A C-FIND query as a QIDO-RS search: resources scoped by parent UIDs, DICOM's matching syntax kept,
percent-encoded UTF-8, and (with local_matching) what travels escaped matched here instead."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from dicom_mcp.dicomweb.matching import LocalMatch, sendable_prefix
from dicom_mcp.dicomweb.search import plan, url_path
from dicom_mcp.model.levels import Level
from dicom_mcp.model.queries import build_query

STUDY, SERIES, SOP = "1.2.3", "1.2.3.4", "1.2.3.4.5"


def planned(level: Level, local_matching: bool = False, preset: str = "minimal", **matching: str):  # type: ignore[no-untyped-def]
    return plan(
        build_query(level, {k: (k, v) for k, v in matching.items()}, preset, None, None),
        local_matching=local_matching,
    )


@pytest.mark.parametrize(
    ("level", "matching", "path"),
    [
        (Level.PATIENT, {}, "studies"),
        (Level.STUDY, {"StudyInstanceUID": STUDY}, "studies"),
        (Level.SERIES, {"StudyInstanceUID": STUDY}, f"studies/{STUDY}/series"),
        (Level.SERIES, {"SeriesInstanceUID": SERIES}, "series"),
        (
            Level.INSTANCE,
            {"StudyInstanceUID": STUDY, "SeriesInstanceUID": SERIES},
            f"studies/{STUDY}/series/{SERIES}/instances",
        ),
        (Level.INSTANCE, {"StudyInstanceUID": STUDY}, f"studies/{STUDY}/instances"),
        (Level.INSTANCE, {"SeriesInstanceUID": SERIES, "SOPInstanceUID": SOP}, "instances"),
    ],
)
def test_levels_map_to_resources_scoped_by_parent_uids(
    level: Level, matching: dict[str, str], path: str
) -> None:
    search = planned(level, **matching)
    assert url_path(search.path) == path
    sent = dict(search.params)
    assert not {"StudyInstanceUID", "SeriesInstanceUID"} & set(sent) - set(matching) - set(path.split("/"))


def test_return_keys_and_text_matching_keys_are_asked_for_by_tag_and_the_matching_syntax_is_kept() -> None:
    search = planned(
        Level.STUDY, StudyDate="20210101-20231231", StudyDescription="CHEST*", AccessionNumber="A?1"
    )
    assert search.query_string(("limit", "11")) == (
        "StudyDate=20210101-20231231&StudyDescription=CHEST*&AccessionNumber=A?1"
        "&includefield=0020000D,00080020,00081030,00100020,00080050&limit=11"
    )


def test_other_characters_travel_percent_encoded_utf8() -> None:
    search = planned(Level.PATIENT, PatientName="Müller^J*", PatientID="A&B=C D+")
    assert (
        search.query_string().split("&includefield")[0]
        == "PatientName=M%C3%BCller%5EJ*&PatientID=A%26B%3DC%20D%2B"
    )
    assert dict(parse_qsl(search.query_string()))["PatientName"] == "Müller^J*"
    assert [rule.pattern for rule in search.local] == ["Müller^J*", "A&B=C D+"]  # checked again here


def test_patients_are_searched_over_studies_one_per_patient_id() -> None:
    search = planned(Level.PATIENT, preset="extended", PatientName="SMITH*")
    assert (url_path(search.path), search.distinct) == ("studies", "PatientID")
    fields = dict(search.params)["includefield"].split(",")
    assert "00201200" not in fields  # NumberOfPatientRelatedStudies is counted here, not asked for


def test_local_matching_sends_what_travels_unescaped_and_matches_the_rest_here() -> None:
    search = planned(
        Level.PATIENT,
        local_matching=True,
        PatientName="Müller^J*",
        PatientID="PAT 7",
        PatientBirthDate="19700101",
    )
    assert [(k, v) for k, v in search.params if k != "includefield"] == [
        ("PatientName", "M*"),
        ("PatientID", "PAT*"),
        ("PatientBirthDate", "19700101"),
    ]
    assert search.local == (
        LocalMatch("PatientName", "Müller^J*", True),
        LocalMatch("PatientID", "PAT 7", False),
    )
    assert search.keeps({"PatientName": "MÜLLER^JÜRGEN", "PatientID": "PAT 7"})
    assert not search.keeps({"PatientName": "MULLER^JURGEN", "PatientID": "PAT 7"})
    assert not search.keeps({"PatientName": "Müller^Jürgen", "PatientID": "pat 7"})


@pytest.mark.parametrize(
    ("value", "prefix"),
    [
        ("SMITH*", "SMITH*"),
        ("SMITH^J*", "SMITH*"),
        ("Иванова*", None),
        ("*^J*", None),
        ("AB*C D", "AB*C*"),
        ("M?ller ü", "M?ller*"),
    ],
)
def test_the_sendable_prefix(value: str, prefix: str | None) -> None:
    assert sendable_prefix(value) == prefix


@pytest.mark.parametrize(
    ("pattern", "ignore_case", "value", "matches"),
    [
        ("Müller*", True, "MÜLLER^Jürgen", True),
        ("*山田*", True, "Yamada^Tarou=山田^太郎=やまだ^たろう", True),
        ("山田*", True, "Yamada^Tarou=山田^太郎=やまだ^たろう", False),
        ("SMITH^J?HN", True, "smith^john", True),
        ("CT HEAD", False, "CT HEAD", True),
        ("CT HEAD", False, "ct head", False),
        ("CT HEAD", False, ["MR", "CT HEAD"], True),
        ("A.B", False, "AxB", False),
        ("*", False, None, False),
    ],
)
def test_local_matching_follows_dicom_rules(
    pattern: str, ignore_case: bool, value: object, matches: bool
) -> None:
    assert LocalMatch("X", pattern, ignore_case).matches(value) is matches  # type: ignore[arg-type]
