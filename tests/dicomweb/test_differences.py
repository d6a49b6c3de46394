"""Where Orthanc's DICOMweb side answers differently from its DIMSE side, and what the service does.

1. Debian's Orthanc 1.10 does not percent-decode query strings (its civetweb hands them over raw):
   a value with non-ASCII letters, spaces or ^ finds nothing when sent as the standard says. The
   `web` node leaves `local_matching` unset: the service finds that out (`test_decoding_orthanc.py`)
   and sends the archive the unescaped prefix, matching the rest here, as `web-local`
   (`local_matching = true`) does. `web-strict` (`local_matching = false`, standard encoding)
   shows the archive's behaviour.
2. Orthanc's QIDO-RS ignores case for every attribute; its C-FIND only for person names. The
   service checks text matching keys again on what the archive returns, so both agree.
3. QIDO-RS has no patient resource: patients come from studies, one per Patient ID, and the
   patient-level counts are counted from the patient's studies.
"""

from __future__ import annotations

import httpx
import pytest

from testbeds.clients import call_ok
from testbeds.pacs import Catalog, RunningPacs
from tests.dicomweb.conftest import LOCAL_NODE, STRICT_NODE, Both
from tests.tools.conftest import ClientFactory

pytestmark = pytest.mark.anyio


def ids(result: dict[str, object]) -> set[object]:
    return {match["PatientID"] for match in result["matches"]}  # type: ignore[attr-defined]


@pytest.mark.parametrize("pattern", ["Müller*", "SMITH^JOHN", "smith^j?hn", "Иванова^Мария", "*山田*"])
async def test_escaped_values_match_unless_local_matching_is_turned_off(
    orthanc: RunningPacs, tools_client: ClientFactory, both: Both, pattern: str
) -> None:
    outcome = await both.same("query_patients", name_pattern=pattern)  # `web`: found out
    assert outcome["structured"]["count"] == 1
    async with tools_client(orthanc, node=LOCAL_NODE) as client:
        local = await call_ok(client, "query_patients", name_pattern=pattern)
    async with tools_client(orthanc, node=STRICT_NODE) as client:
        strict = await call_ok(client, "query_patients", name_pattern=pattern)
    assert local["matches"] == outcome["structured"]["matches"]
    assert strict["count"] == 0  # Debian's Orthanc compares the still percent-encoded value


async def test_plain_ascii_values_match_on_either_node(
    orthanc: RunningPacs, tools_client: ClientFactory
) -> None:
    async with tools_client(orthanc, node=STRICT_NODE) as client:
        assert ids(await call_ok(client, "query_patients", name_pattern="SMITH*")) == {"PAT001", "PAT002"}


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("query_studies", {"patient_id": "pat001"}),
        ("query_studies", {"study_description": "chest*"}),
        ("query_studies", {"accession_number": "acc3001"}),
    ],
)
async def test_text_values_match_with_case_as_over_dimse(
    orthanc: RunningPacs, both: Both, tool: str, arguments: dict[str, str]
) -> None:
    key, value = next(iter(arguments.items()))
    keyword = {
        "patient_id": "PatientID",
        "study_description": "StudyDescription",
        "accession_number": "AccessionNumber",
    }
    assert orthanc.dicomweb_url is not None
    async with httpx.AsyncClient() as http:  # the archive itself ignores case
        raw = await http.get(f"{orthanc.dicomweb_url}/studies?{keyword[key]}={value}")
    assert raw.json()
    outcome = await both.same(tool, **arguments)
    assert outcome["structured"]["count"] == 0


async def test_person_names_match_without_case_on_both(both: Both) -> None:
    outcome = await both.same("query_patients", name_pattern="smith*")
    assert {m["PatientID"] for m in outcome["structured"]["matches"]} == {"PAT001", "PAT002"}


@pytest.mark.parametrize("preset", ["standard", "extended"])
async def test_patients_come_from_their_studies_with_the_same_counts(
    both: Both, pacs_catalog: Catalog, preset: str
) -> None:
    every = await both.same("query_patients", attribute_preset=preset)
    assert (every["structured"]["count"], every["structured"]["truncated"]) == (
        len(pacs_catalog.patients),
        False,
    )
    if preset == "extended":
        assert all(m["NumberOfPatientRelatedInstances"] for m in every["structured"]["matches"])
    outcomes = await both.call("query_patients", attribute_preset=preset, limit=3)
    for outcome in outcomes.values():  # which three is the archive's choice, on either protocol
        assert (outcome["structured"]["count"], outcome["structured"]["truncated"]) == (3, True)
