"""Whether an archive percent-decodes query strings is found out once per node, when a search needs it.

The probe logic runs first against a scripted search (an archive that decodes, one that does not,
an empty one, one that fails) with a clock of the test's own; then the client runs against
`testbeds.dicomweb`'s archives that match on decoded (`decoding`) or still-encoded (`literal`)
values, over real sockets. Debian's Orthanc, which does not decode, is in `test_decoding_orthanc.py`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any, cast

import anyio
import pytest

from dicom_mcp.dicomweb.client import DicomWebClient
from dicom_mcp.dicomweb.decoding import ENCODED, PLAIN, REMEMBERED, QueryDecoding, probe_decoding
from dicom_mcp.dicomweb.exchange import Exchange, Page
from dicom_mcp.dicomweb.finding import planned
from dicom_mcp.dimse.client import ClientConfig
from dicom_mcp.errors import PacsTimeout
from dicom_mcp.model.levels import Level
from dicom_mcp.model.queries import Query, build_query
from dicom_mcp.model.target import Target, WebSettings
from testbeds.dicomweb import FaultArchive, run_fault_archive

pytestmark = pytest.mark.anyio
CONFIG = ClientConfig(calling_ae_title="MCPTEST", connect_timeout=2, network_timeout=2, query_deadline=10)
PROBES = (PLAIN, ENCODED)


class Scripted:
    """The search side of an `Exchange`, answering the probe as an archive that holds studies (or
    not) and decodes query strings (or not); `gate`, when set, holds every answer until it opens."""

    where = "node 'scripted' (DICOMweb)"

    def __init__(self, *, holds: bool = True, decodes: bool = False) -> None:
        self.holds, self.decodes = holds, decodes
        self.asked: list[str] = []
        self.gate: anyio.Event | None = None
        self.failing = False

    async def search(self, path: str, query: str, *, scoped: bool, rows: int) -> Page:
        assert (path, scoped, rows) == ("studies", False, 1)
        self.asked.append(query)
        if self.gate is not None:
            await self.gate.wait()
        if self.failing:
            raise PacsTimeout("scripted timeout")
        found = self.holds and (query == PLAIN or self.decodes)
        return Page([{"0020000D": {"vr": "UI", "Value": ["1.2.3"]}}] if found else [], False)

    def exchange(self) -> Exchange:
        return cast(Exchange, self)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- the probe --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("archive", "answer", "asked"),
    [
        (Scripted(decodes=True), True, PROBES),
        (Scripted(decodes=False), False, PROBES),
        (Scripted(holds=False), None, (PLAIN,)),
    ],
    ids=["decodes", "does-not-decode", "empty"],
)
async def test_the_probe_compares_a_wildcard_with_its_percent_encoded_form(
    archive: Scripted, answer: bool | None, asked: tuple[str, ...]
) -> None:
    assert await probe_decoding(archive.exchange()) is answer
    assert tuple(archive.asked) == asked
    assert PROBES == ("PatientID=*&limit=1", "PatientID=%2A&limit=1")


async def test_an_answer_is_remembered_until_its_time_is_up() -> None:
    archive, clock = Scripted(), Clock()
    decoding = QueryDecoding(clock=clock)
    assert [await decoding.decodes("root", archive.exchange()) for _ in range(3)] == [False] * 3
    clock.now += REMEMBERED - 1
    assert await decoding.decodes("root", archive.exchange()) is False
    assert tuple(archive.asked) == PROBES
    archive.decodes, clock.now = True, clock.now + 1  # upgraded meanwhile
    assert await decoding.decodes("root", archive.exchange()) is True
    assert tuple(archive.asked) == PROBES * 2


async def test_an_empty_archive_is_asked_again_next_time() -> None:
    archive = Scripted(holds=False)
    decoding = QueryDecoding()
    assert [await decoding.decodes("root", archive.exchange()) for _ in range(2)] == [None, None]
    archive.holds = True  # a first study arrives
    assert await decoding.decodes("root", archive.exchange()) is False
    assert await decoding.decodes("root", archive.exchange()) is False
    assert archive.asked == [PLAIN, PLAIN, *PROBES]


async def test_each_root_is_asked_for_itself() -> None:
    decoding, plain, strict = QueryDecoding(), Scripted(decodes=True), Scripted(decodes=False)
    assert await decoding.decodes("a", plain.exchange()) is True
    assert await decoding.decodes("b", strict.exchange()) is False
    assert (tuple(plain.asked), tuple(strict.asked)) == (PROBES, PROBES)


@pytest.mark.parametrize("holds", [True, False], ids=["answered", "unknown"])
async def test_calls_that_need_it_at_once_share_one_probe(holds: bool) -> None:
    archive, decoding = Scripted(holds=holds), QueryDecoding()
    archive.gate = anyio.Event()
    answers: list[bool | None] = []

    async def ask() -> None:
        answers.append(await decoding.decodes("root", archive.exchange()))

    async with anyio.create_task_group() as tasks:
        for _ in range(10):
            tasks.start_soon(ask)
        await anyio.wait_all_tasks_blocked()
        archive.gate.set()
    assert answers == [False if holds else None] * 10
    assert tuple(archive.asked) == (PROBES if holds else (PLAIN,))  # the waiters shared even "unknown"


async def test_a_probe_that_fails_is_not_remembered() -> None:
    archive, decoding = Scripted(), QueryDecoding()
    archive.failing = True
    with pytest.raises(PacsTimeout):
        await decoding.decodes("root", archive.exchange())
    archive.failing = False
    assert await decoding.decodes("root", archive.exchange()) is False
    assert archive.asked == [PLAIN, *PROBES]


@pytest.mark.parametrize("setting", [True, False])
async def test_a_node_that_says_is_never_asked(setting: bool) -> None:
    archive = Scripted()
    local = QueryDecoding().local_matching(setting, "root", archive.exchange())
    assert (await local(), archive.asked) == (setting, [])


async def test_one_operation_asks_at_most_once_even_when_the_archive_cannot_tell() -> None:
    archive = Scripted(holds=False)
    local = QueryDecoding().local_matching(None, "root", archive.exchange())
    assert [await local(), await local()] == [True, True]  # unknown: matched here, the safe choice
    assert archive.asked == [PLAIN]


def names(pattern: str) -> Query:
    return build_query(Level.PATIENT, {"PatientName": ("name_pattern", pattern)}, "minimal", None, None)


@pytest.mark.parametrize(("pattern", "asks"), [("SMITH*", False), ("Müller*", True), ("DOE^J*", True)])
async def test_only_a_search_with_a_value_that_travels_escaped_asks(pattern: str, asks: bool) -> None:
    asked: list[bool] = []

    async def local_matching() -> bool:
        asked.append(True)
        return True

    await planned(names(pattern), local_matching)
    assert bool(asked) is asks


# --- the client, against archives over real sockets --------------------------------------------------


@pytest.fixture(scope="module")
def archive() -> Iterator[FaultArchive]:
    with run_fault_archive() as running:
        yield running


@pytest.fixture
async def client() -> AsyncIterator[DicomWebClient]:
    web = DicomWebClient(CONFIG)
    yield web
    await web.aclose()


def node(url: str, local_matching: bool | None = None) -> Target:
    return Target("127.0.0.1", 0, "", name="archive", web=WebSettings(url, local_matching=local_matching))


def probes(archive: FaultArchive, behaviour: str) -> list[str]:
    return [hit.query for hit in archive.hits(behaviour) if hit.query in PROBES]


def sent_names(archive: FaultArchive, behaviour: str) -> list[str]:
    return [dict(hit.params)["PatientName"] for hit in archive.hits(behaviour) if "PatientName=" in hit.query]


def found(result: Any) -> list[object]:
    return [match["PatientName"] for match in result.matches]


async def test_an_archive_that_decodes_is_sent_the_value_and_matches_it(
    client: DicomWebClient, archive: FaultArchive, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="dicom_mcp.dicomweb.decoding"):
        result = await client.find(node(archive.url("decoding")), names("DOE^JANE1"), 5)
    assert found(result) == ["DOE^JANE1"]
    assert (probes(archive, "decoding"), sent_names(archive, "decoding")) == (list(PROBES), ["DOE^JANE1"])
    assert [r.getMessage() for r in caplog.records] == [
        "node 'archive' (DICOMweb) decodes query strings: escaped values are matched by the archive"
    ]


async def test_an_archive_that_does_not_decode_is_sent_the_prefix_and_the_rest_is_matched_here(
    client: DicomWebClient, archive: FaultArchive, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="dicom_mcp.dicomweb.decoding"):
        result = await client.find(node(archive.url("literal")), names("DOE^JANE1"), 5)
    assert found(result) == ["DOE^JANE1"]
    assert (probes(archive, "literal"), sent_names(archive, "literal")) == (list(PROBES), ["DOE*"])
    assert "does not percent-decode query strings" in caplog.text and "DOE" not in caplog.text


@pytest.mark.parametrize(
    ("behaviour", "setting", "sent", "matches"),
    [
        ("literal", False, "DOE^JANE1", []),  # as Debian's Orthanc with local_matching = false
        ("decoding", True, "DOE*", ["DOE^JANE1"]),
    ],
)
async def test_the_node_setting_wins_and_nothing_is_probed(
    client: DicomWebClient, behaviour: str, setting: bool, sent: str, matches: list[str]
) -> None:
    with run_fault_archive() as archive:
        result = await client.find(node(archive.url(behaviour), setting), names("DOE^JANE1"), 5)
        assert (probes(archive, behaviour), sent_names(archive, behaviour)) == ([], [sent])
    assert found(result) == matches


async def test_a_search_without_escaped_values_probes_nothing(client: DicomWebClient) -> None:
    with run_fault_archive() as archive:
        result = await client.find(node(archive.url("literal")), names("DOE*"), 5)
        assert (len(result.matches), probes(archive, "literal")) == (3, [])


async def test_concurrent_first_searches_probe_the_node_once(client: DicomWebClient) -> None:
    with run_fault_archive() as archive:
        results: list[list[object]] = []

        async def search(number: int) -> None:
            results.append(
                found(await client.find(node(archive.url("literal")), names(f"DOE^JANE{number}"), 5))
            )

        async with anyio.create_task_group() as tasks:
            for number in (1, 2, 3) * 3:
                tasks.start_soon(search, number)
        await client.find(node(archive.url("literal")), names("DOE^JANE2"), 5)  # later: remembered
        assert probes(archive, "literal") == list(PROBES)
    assert sorted(map(str, results)) == sorted(str([f"DOE^JANE{n}"]) for n in (1, 2, 3) * 3)
