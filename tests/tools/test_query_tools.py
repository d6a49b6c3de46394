"""The query tools return the right answers from both real PACS (Orthanc and dcmqrscp)."""

from __future__ import annotations

from typing import Any

import pytest

from testbeds.clients import call_error, call_ok
from testbeds.pacs import Catalog, RunningPacs
from testbeds.pacs.dataset import JAPANESE_NAME
from tests.tools.conftest import ClientFactory

pytestmark = pytest.mark.anyio


def column(result: dict[str, Any], keyword: str) -> set[Any]:
    return {match[keyword] for match in result["matches"]}


async def test_patients_by_wildcard_name(pacs: RunningPacs, tools_client: ClientFactory) -> None:
    async with tools_client(pacs) as client:
        result = await call_ok(client, "query_patients", name_pattern="SMITH*")
    assert column(result, "PatientID") == {"PAT001", "PAT002"}
    assert column(result, "PatientName") == {"SMITH^JOHN", "SMITH^JANE"}
    assert (result["count"], result["truncated"]) == (2, False)


async def test_patient_by_id_with_standard_preset(
    pacs: RunningPacs, pacs_catalog: Catalog, tools_client: ClientFactory
) -> None:
    expected = pacs_catalog.patient_by_id("PAT003")
    async with tools_client(pacs) as client:
        result = await call_ok(client, "query_patients", patient_id="PAT003")
    assert result["matches"] == [
        {
            "PatientID": "PAT003",
            "PatientName": expected.name,
            "PatientBirthDate": expected.birth_date,
            "PatientSex": expected.sex,
        }
    ]


async def test_patient_by_birth_date(pacs: RunningPacs, tools_client: ClientFactory) -> None:
    async with tools_client(pacs) as client:
        result = await call_ok(client, "query_patients", birth_date="19700521")
    assert column(result, "PatientID") == {"PAT002"}


async def test_latin1_name_matches_and_comes_back_decoded(
    pacs: RunningPacs, tools_client: ClientFactory
) -> None:
    async with tools_client(pacs) as client:
        by_pattern = await call_ok(client, "query_patients", name_pattern="Müller*")
        by_id = await call_ok(client, "query_patients", patient_id="PAT004")
    assert column(by_id, "PatientName") == {"Müller^Jürgen"}
    assert column(by_pattern, "PatientID") == {"PAT004"}


async def test_japanese_name_comes_back_decoded(pacs: RunningPacs, tools_client: ClientFactory) -> None:
    async with tools_client(pacs) as client:
        result = await call_ok(client, "query_patients", patient_id="PAT005")
    assert column(result, "PatientName") == {JAPANESE_NAME}


async def test_non_latin_names_match_on_orthanc(orthanc: RunningPacs, tools_client: ClientFactory) -> None:
    async with tools_client(orthanc) as client:
        japanese = await call_ok(client, "query_patients", name_pattern="Yamada*")
        cyrillic = await call_ok(client, "query_patients", name_pattern="Иванова*")
    assert column(japanese, "PatientID") == {"PAT005"}
    assert column(cyrillic, "PatientName") == {"Иванова^Мария"}


async def test_studies_of_a_patient(
    pacs: RunningPacs, pacs_catalog: Catalog, tools_client: ClientFactory
) -> None:
    async with tools_client(pacs) as client:
        result = await call_ok(client, "query_studies", patient_id="PAT001")
    expected = {study.study_uid for study in pacs_catalog.studies_for_patient("PAT001")}
    assert column(result, "StudyInstanceUID") == expected
    assert column(result, "PatientName") == {"SMITH^JOHN"}


@pytest.mark.parametrize(
    ("study_date", "first", "last"),
    [
        ("20210101-20231231", "20210101", "20231231"),
        ("20240101-", "20240101", "99999999"),
        ("-20181231", "00000000", "20181231"),
        ("20190611", "20190611", "20190611"),
    ],
)
async def test_studies_by_date_and_range(
    pacs: RunningPacs,
    pacs_catalog: Catalog,
    tools_client: ClientFactory,
    study_date: str,
    first: str,
    last: str,
) -> None:
    async with tools_client(pacs) as client:
        result = await call_ok(client, "query_studies", study_date=study_date)
    expected = {s.study_uid for s in pacs_catalog.studies if first <= s.date <= last}
    assert expected
    assert column(result, "StudyInstanceUID") == expected


async def test_studies_by_modality(
    orthanc: RunningPacs, pacs_catalog: Catalog, tools_client: ClientFactory
) -> None:
    async with tools_client(orthanc) as client:
        result = await call_ok(client, "query_studies", modality_in_study="MR")
    assert column(result, "StudyInstanceUID") == {
        s.study_uid for s in pacs_catalog.studies_with_modality("MR")
    }
    assert all("MR" in match["ModalitiesInStudy"] for match in result["matches"])


async def test_studies_by_description_wildcard_and_accession(
    pacs: RunningPacs, pacs_catalog: Catalog, tools_client: ClientFactory
) -> None:
    async with tools_client(pacs) as client:
        chest = await call_ok(client, "query_studies", study_description="CHEST*")
        by_accession = await call_ok(client, "query_studies", accession_number="ACC3001")
    assert column(chest, "StudyInstanceUID") == {
        s.study_uid for s in pacs_catalog.studies if s.description.startswith("CHEST")
    }
    assert column(by_accession, "StudyInstanceUID") == {pacs_catalog.study_by_accession("ACC3001").study_uid}


async def test_series_of_a_study_by_modality_and_description(
    pacs: RunningPacs, pacs_catalog: Catalog, tools_client: ClientFactory
) -> None:
    study = pacs_catalog.study_by_accession("ACC3001")
    async with tools_client(pacs) as client:
        every = await call_ok(client, "query_series", study_instance_uid=study.study_uid)
        pet = await call_ok(
            client,
            "query_series",
            study_instance_uid=study.study_uid,
            modality="PT",
            series_description="PET*",
        )
    assert column(every, "SeriesInstanceUID") == {
        s.series_uid for s in pacs_catalog.series_for_study(study.study_uid)
    }
    assert column(pet, "Modality") == {"PT"}
    assert pet["count"] == 1


async def test_instances_with_only_the_series_uid(
    pacs: RunningPacs, pacs_catalog: Catalog, tools_client: ClientFactory
) -> None:
    study = pacs_catalog.study_by_accession("ACC3001")
    series = next(s for s in pacs_catalog.series_for_study(study.study_uid) if s.modality == "PT")
    async with tools_client(pacs) as client:
        every = await call_ok(client, "query_instances", series_instance_uid=series.series_uid)
        third = await call_ok(
            client, "query_instances", series_instance_uid=series.series_uid, instance_number="3"
        )
    assert column(every, "SOPInstanceUID") == {
        i.sop_uid for i in pacs_catalog.instances_for_series(series.series_uid)
    }
    assert column(third, "InstanceNumber") == {3}


async def test_unknown_series_has_no_instances(pacs: RunningPacs, tools_client: ClientFactory) -> None:
    async with tools_client(pacs) as client:
        result = await call_ok(client, "query_instances", series_instance_uid="1.2.3.4.5.6.7.8.9")
    assert (result["count"], result["matches"]) == (0, [])


@pytest.mark.parametrize("key", ["0-9", "-9", "0-", "1.2.826-1.2.827"])
async def test_a_uid_with_a_hyphen_matches_itself_not_a_range(
    pacs: RunningPacs, tools_client: ClientFactory, key: str
) -> None:
    # Accepted as some archives store such UIDs; matched as a range it would return every series.
    async with tools_client(pacs) as client:
        result = await call_ok(client, "query_series", study_instance_uid=key)
    assert (result["count"], result["matches"]) == (0, [])


async def test_large_series_is_capped_at_the_limit_and_marked_truncated(
    pacs: RunningPacs, pacs_catalog: Catalog, tools_client: ClientFactory
) -> None:
    large = pacs_catalog.large_series
    assert large.instance_count > 1000
    async with tools_client(pacs) as client:
        capped = await call_ok(client, "query_instances", series_instance_uid=large.series_uid, limit=1000)
        default = await call_ok(client, "query_instances", series_instance_uid=large.series_uid)
    assert (capped["count"], capped["truncated"], len(column(capped, "SOPInstanceUID"))) == (1000, True, 1000)
    assert (default["count"], default["truncated"], default["limit"]) == (100, True, 100)


async def test_all_of_a_large_series_when_the_limit_allows(
    orthanc: RunningPacs, pacs_catalog: Catalog, tools_client: ClientFactory
) -> None:
    large = pacs_catalog.large_series
    async with tools_client(orthanc, max_limit=5000) as client:
        result = await call_ok(client, "query_instances", series_instance_uid=large.series_uid, limit=5000)
    assert (result["count"], result["truncated"]) == (large.instance_count, False)


async def test_presets_and_attribute_lists_shape_the_matches(
    pacs: RunningPacs, tools_client: ClientFactory
) -> None:
    async with tools_client(pacs) as client:
        minimal = await call_ok(client, "query_patients", patient_id="PAT001", attribute_preset="minimal")
        custom = await call_ok(
            client,
            "query_studies",
            patient_id="PAT002",
            attribute_preset="minimal",
            additional_attributes=["StudyTime"],
            exclude_attributes=["StudyDescription"],
        )
    assert set(minimal["matches"][0]) == {"PatientID", "PatientName"}
    assert set(custom["matches"][0]) == {"StudyInstanceUID", "StudyDate", "PatientID", "StudyTime"}


@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        ("query_studies", {"study_date": "20230230"}, "not a real calendar date"),
        ("query_patients", {"attribute_preset": "all"}, "minimal, standard, extended"),
        ("query_patients", {"additional_attributes": ["NotAKeyword"]}, "not a DICOM attribute keyword"),
        ("query_series", {"study_instance_uid": "1.2.*"}, "must be a DICOM UID"),
        ("query_patients", {"patient_id": "A\\B"}, "backslash"),
        ("query_patients", {"limit": 1001}, "invalid input: limit must be an integer between 1 and 1000"),
        ("query_patients", {"limit": 0}, "invalid input: limit must be an integer between 1 and 1000"),
        ("query_patients", {"session": "made-up"}, "unknown or expired session handle"),
    ],
)
async def test_bad_input_is_a_clear_tool_error(
    orthanc: RunningPacs, tools_client: ClientFactory, tool: str, arguments: dict[str, Any], message: str
) -> None:
    async with tools_client(orthanc) as client:
        assert message in await call_error(client, tool, **arguments)
