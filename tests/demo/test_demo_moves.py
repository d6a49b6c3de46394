"""`dicom-mcp --demo` moves, for real: move_study and move_series send the sample data to its sample archive.

The sample archive runs inside the service's process and keeps nothing; what it received is read
from its log, one line per association (who stored how many, never what). The expected counts come
from the sample data's own index, built here from the same deterministic data set.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from dicom_mcp.demo import sample_datasets
from dicom_mcp.demo.index import Entity, Index
from testbeds.clients import call_error, call_ok, mcp_client
from testbeds.net import free_port
from testbeds.poll import until_async
from testbeds.service import RunningService, service_env

pytestmark = [pytest.mark.anyio, pytest.mark.service]

ARCHIVE = "sample-archive"
ARCHIVED = re.compile(r"sample archive SAMPLE-ARCHIVE: SAMPLE-PACS stored (\d+) instances and closed")


@pytest.fixture(scope="module")
def index() -> Index:
    return Index(sample_datasets())


def archived(service: RunningService) -> list[int]:
    """How many instances the sample archive took on each association so far, oldest first."""
    return [int(count) for count in ARCHIVED.findall(service.log())]


async def archived_next(service: RunningService, before: int) -> int:
    """The count of the next association the archive logs after the first `before` ones."""
    await until_async(lambda: len(archived(service)) > before, what="the sample archive's log line")
    counts = archived(service)
    assert len(counts) == before + 1, "one move, one association"
    return counts[-1]


def instances(entity: Entity) -> int:
    return len(list(entity.instances()))


def study_with(index: Index, accession: str) -> Entity:
    return next(s for s in index.entities("STUDY") if s.sample.AccessionNumber == accession)


async def test_the_sample_archive_is_a_named_move_destination(demo: RunningService) -> None:
    async with mcp_client(demo.mcp_url, "modern") as client:
        nodes = await call_ok(client, "list_dicom_nodes")
    archive = next(node for node in nodes["nodes"] if node["name"] == ARCHIVE)
    assert (archive["ae_title"], archive["move_destination"], archive["host"]) == (
        "SAMPLE-ARCHIVE",
        True,
        None,
    )
    assert [node["move_destination"] for node in nodes["nodes"] if node["name"] == "default"] == [False]
    assert re.search(
        r"move_study and move_series may send to the node sample-archive, "
        r"SAMPLE-ARCHIVE@127\.0\.0\.1:\d+ \(loopback only, keeps nothing\)",
        demo.log(),
    )


async def test_the_readme_move(demo: RunningService, index: Index) -> None:
    follow_up = study_with(index, "DEMO1002")
    assert follow_up.uid == "1.2.826.0.1.3680043.8.498.10731.1.2"  # as the README shows it
    before = len(archived(demo))
    async with mcp_client(demo.mcp_url, "modern") as client:
        moved = await call_ok(client, "move_study", study_instance_uid=follow_up.uid, destination=ARCHIVE)
    assert moved == {"destination": ARCHIVE, "completed": 14, "failed": 0, "warning": 0, "status": "0x0000"}
    assert await archived_next(demo, before) == instances(follow_up) == 14


@pytest.mark.parametrize("mode", ["modern", "legacy"])
async def test_move_study_sends_every_study_whole_to_the_sample_archive(
    demo: RunningService, index: Index, mode: str
) -> None:
    total = 0
    async with mcp_client(demo.mcp_url, mode) as client:
        for study in index.entities("STUDY"):
            before = len(archived(demo))
            moved = await call_ok(client, "move_study", study_instance_uid=study.uid, destination=ARCHIVE)
            expected = instances(study)
            assert (moved["completed"], moved["failed"], moved["status"]) == (expected, 0, "0x0000")
            assert await archived_next(demo, before) == expected
            total += expected
    assert total == index.instance_count == 70


@pytest.mark.parametrize("with_study", [False, True])
async def test_move_series_sends_only_that_series(
    demo: RunningService, index: Index, with_study: bool
) -> None:
    follow_up = study_with(index, "DEMO1002")
    known = {"study_instance_uid": follow_up.uid} if with_study else {}
    async with mcp_client(demo.mcp_url, "modern") as client:
        for series in follow_up.children:  # 12 CT images, an SR, a PDF
            before = len(archived(demo))
            moved = await call_ok(
                client, "move_series", series_instance_uid=series.uid, destination=ARCHIVE, **known
            )
            assert (moved["completed"], moved["status"]) == (instances(series), "0x0000")
            assert await archived_next(demo, before) == instances(series)
    assert [instances(series) for series in follow_up.children] == [12, 1, 1]


async def test_progress_notifications_reach_a_client_that_asks(demo: RunningService, index: Index) -> None:
    mr = study_with(index, "DEMO2001")
    updates: list[tuple[float, float | None]] = []

    async def on_progress(progress: float, of: float | None, message: str | None) -> None:
        updates.append((progress, of))

    async with mcp_client(demo.mcp_url, "legacy") as client:
        result = await client.call_tool(
            "move_study",
            {"study_instance_uid": mr.uid, "destination": ARCHIVE},
            progress_callback=on_progress,
        )
    assert not result.is_error and result.structured_content is not None
    assert result.structured_content["completed"] == instances(mr) == 20
    assert len(updates) >= 19 and all(of == 20 for _, of in updates)
    assert [progress for progress, _ in updates] == sorted(progress for progress, _ in updates)


@pytest.mark.parametrize(
    ("destination", "why"),
    [
        ("nowhere", "an unknown name"),
        ("SAMPLE-ARCHIVE", "the archive's AE title instead of its node name"),
        ("default", "the sample PACS itself"),
    ],
)
async def test_any_other_destination_is_a_clear_error_and_nothing_moves(
    demo: RunningService, index: Index, destination: str, why: str
) -> None:
    study = index.entities("STUDY")[0]
    before = len(archived(demo))
    async with mcp_client(demo.mcp_url, "modern") as client:
        message = await call_error(
            client, "move_study", study_instance_uid=study.uid, destination=destination
        )
        series_message = await call_error(
            client, "move_series", series_instance_uid=study.children[0].uid, destination=destination
        )
    expected = f"move refused: {destination!r} is not a registered move destination; registered: {ARCHIVE}"
    assert message == series_message == expected, why
    assert len(archived(demo)) == before


async def test_over_stdio_the_archive_joins_the_nodes_files_nodes_and_takes_moves(
    index: Index, tmp_path: Path
) -> None:
    nodes = tmp_path / "nodes.toml"
    nodes.write_text(
        '[nodes.reading-room]\nhost = "127.0.0.1"\nport = 104\nae_title = "ROOM"\nmove_destination = true\n',
        encoding="utf-8",
    )
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "dicom_mcp", "--transport", "stdio", "--demo"],
        env=service_env(nodes_file=str(nodes)),
    )
    xray = study_with(index, "DEMO3001")
    async with Client(params) as client:
        listed = await call_ok(client, "list_dicom_nodes")
        moved = await call_ok(client, "move_study", study_instance_uid=xray.uid, destination=ARCHIVE)
    assert [(n["name"], n["move_destination"]) for n in listed["nodes"]] == [
        ("default", False),
        ("reading-room", True),
        (ARCHIVE, True),
    ]
    assert (moved["completed"], moved["status"]) == (instances(xray), "0x0000") == (2, "0x0000")


def test_a_nodes_file_may_not_take_the_archives_name(tmp_path: Path) -> None:
    nodes = tmp_path / "nodes.toml"
    nodes.write_text(
        '[nodes.sample-archive]\nhost = "127.0.0.1"\nport = 104\nae_title = "MINE"\n', encoding="utf-8"
    )
    argv = [sys.executable, "-m", "dicom_mcp", "--demo", "--port", str(free_port())]
    env = service_env(nodes_file=str(nodes))
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "dicom-mcp: configuration error: the nodes file names a node 'sample-archive', a name this service "
        "gives a node of its own: rename it"
    )
