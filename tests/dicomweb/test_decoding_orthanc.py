"""Debian's Orthanc 1.10 over DICOMweb with `local_matching` unset: found not to decode query
strings, after one probe per node, so non-ASCII names are found there as over DIMSE.

The nodes' url is `testbeds.dicomweb`'s `relay` in front of Orthanc's DICOMweb root: Orthanc
answers, the relay records what it was asked (query strings as sent).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client

from dicom_mcp.dicomweb.client import DicomWebClient
from dicom_mcp.dicomweb.decoding import ENCODED, PLAIN
from dicom_mcp.services import build_services
from dicom_mcp.transport.server import build_server
from testbeds.clients import call_ok
from testbeds.dicomweb import FaultArchive, run_fault_archive
from testbeds.pacs import Catalog, RunningPacs, run_orthanc
from testbeds.pacs.orthanc import upload_files
from tests.dicomweb.test_decoding import CONFIG, PROBES, found, names, node, probes
from tests.tools.conftest import settings_for

pytestmark = pytest.mark.anyio
PATTERNS = ("Müller*", "müller^jürgen", "Иванова^Мария", "*山田*", "SMITH^JOHN")


@contextmanager
def relay_to(upstream: RunningPacs) -> Iterator[FaultArchive]:
    assert upstream.dicomweb_url is not None
    with run_fault_archive() as relay:
        relay.upstream = upstream.dicomweb_url
        yield relay


@pytest.fixture
def relay(orthanc: RunningPacs) -> Iterator[FaultArchive]:
    with relay_to(orthanc) as running:
        yield running


@pytest.fixture
async def tools(orthanc: RunningPacs, relay: FaultArchive, tmp_path: Path) -> AsyncIterator[Client]:
    """The service: its default node Orthanc over DIMSE, and Orthanc over DICOMweb (through the relay)
    as `found` (local_matching unset), `off` (false) and `on` (true)."""
    nodes = tmp_path / "nodes.toml"
    nodes.write_text(
        "".join(
            f'[nodes.{name}]\nprotocol = "dicomweb"\nurl = "{relay.url("relay")}"\n{line}\n'
            for name, line in (
                ("found", ""),
                ("off", "local_matching = false"),
                ("on", "local_matching = true"),
            )
        ),
        encoding="utf-8",
    )
    services = build_services(settings_for(orthanc, nodes_file=nodes))
    try:
        async with Client(build_server(services)) as client:
            yield client
    finally:
        await services.aclose()


async def session(client: Client, node: str) -> str:
    return str((await call_ok(client, "configure_dicom_server", node=node))["session"])


def patient_ids(result: dict[str, Any]) -> list[str]:
    return sorted(match["PatientID"] for match in result["matches"])


async def test_what_the_probe_measures_on_orthanc(orthanc: RunningPacs) -> None:
    async with httpx.AsyncClient() as http:
        answers = [(await http.get(f"{orthanc.dicomweb_url}/studies?{query}")).json() for query in PROBES]
    assert [len(rows) for rows in answers] == [1, 0]  # `*` finds a study, `%2A` stays "%2A": no decoding


async def test_non_ascii_names_are_found_as_over_dimse_after_one_probe(
    tools: Client, relay: FaultArchive
) -> None:
    dimse, web = await session(tools, "default"), await session(tools, "found")
    answers: dict[str, list[list[str]]] = {pattern: [] for pattern in PATTERNS}

    async def ask(pattern: str) -> None:
        answers[pattern].append(
            patient_ids(await call_ok(tools, "query_patients", name_pattern=pattern, session=web))
        )

    async with anyio.create_task_group() as tasks:  # first calls at once
        for pattern in PATTERNS * 2:
            tasks.start_soon(ask, pattern)
    for pattern in PATTERNS:  # and later ones
        await ask(pattern)
    for pattern, seen in answers.items():
        over_dimse = patient_ids(await call_ok(tools, "query_patients", name_pattern=pattern, session=dimse))
        assert len(over_dimse) == 1 and seen == [over_dimse] * 3, pattern
    assert probes(relay, "relay") == [PLAIN, ENCODED]


@pytest.mark.parametrize(("node", "count"), [("off", 0), ("on", 1)])
async def test_a_setting_in_the_nodes_file_is_obeyed_without_a_probe(
    tools: Client, relay: FaultArchive, node: str, count: int
) -> None:
    result = await call_ok(
        tools, "query_patients", name_pattern="Müller*", session=await session(tools, node)
    )
    assert result["count"] == count  # off: Orthanc compares "M%C3%BCller*" as it stands
    assert probes(relay, "relay") == []


async def test_an_empty_orthanc_is_matched_here_and_asked_again_once_it_holds_a_study(
    pacs_catalog: Catalog, tmp_path: Path
) -> None:
    patient = pacs_catalog.patient_by_name("Müller^Jürgen")
    series = pacs_catalog.series_for_study(pacs_catalog.studies_for_patient(patient.patient_id)[0].study_uid)[
        0
    ]
    first = pacs_catalog.instances_for_series(series.series_uid)[0]
    assert pacs_catalog.directory is not None
    client = DicomWebClient(CONFIG)
    with run_orthanc(tmp_path / "orthanc", None) as empty, relay_to(empty) as relay:
        try:
            target = node(relay.url("relay"))
            assert [found(await client.find(target, names("Müller*"), 5)) for _ in range(2)] == [[], []]
            assert probes(relay, "relay") == [PLAIN, PLAIN]  # unknown: not remembered
            assert empty.http_url is not None
            upload_files(int(empty.http_url.rsplit(":", 1)[1]), [pacs_catalog.directory / first.filename])
            assert found(await client.find(target, names("Müller*"), 5)) == ["Müller^Jürgen"]
            assert found(await client.find(target, names("Müller*"), 5)) == ["Müller^Jürgen"]
            assert probes(relay, "relay") == [PLAIN, PLAIN, *PROBES]
        finally:
            await client.aclose()
