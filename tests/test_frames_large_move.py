"""Frames of an instance larger than the byte cap, read frame by frame as a C-MOVE sends it.

The instances of testbeds/frames.py sit in an Orthanc and a dcmqrscp that offer no C-GET; two
services read them by C-MOVE to receivers of their own: one with a 512 KiB cap, which finds them
too large to hold, one with the default cap, which takes them whole. render_image of the first,
a middle and the last frame gives the same PNG from both; viewer_frames the same window; and
the audit record says the frames were read frame by frame from the C-STORE to the receiver.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pytest

from testbeds.frames import (
    FIRST_MIDDLE_LAST,
    FRAMES,
    SMALL_CAP,
    Services,
    Written,
    assert_frames_render_alike,
    assert_window_shown_alike,
    cap_settings,
    write_frames,
)
from testbeds.net import free_port
from testbeds.pacs import RunningPacs
from testbeds.pacs.dcmqrscp import run_dcmqrscp
from testbeds.pacs.orthanc import run_orthanc
from testbeds.service import run_service
from testbeds.store import Destination
from testbeds.watch import probe
from tests.reading_beds import audit_records
from tests.receiver.beds import mover_env

pytestmark = pytest.mark.anyio

SMALL, BIG = "MCPFRSMALL", "MCPFRBIG"
NODES: Final = {"orthanc C-MOVE": None, "dcmqrscp C-MOVE": "dcmqrscp"}


@dataclass(frozen=True)
class Beds:
    written: dict[str, Written]
    orthanc: RunningPacs
    dcmqrscp: RunningPacs
    receivers: dict[str, Destination]


@pytest.fixture(scope="module")
def beds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Beds]:
    folder = tmp_path_factory.mktemp("frames-move")
    written = write_frames(folder / "data")
    receivers = {ae: Destination(ae, "127.0.0.1", free_port()) for ae in (SMALL, BIG)}
    moves = list(receivers.values())
    with (
        run_orthanc(
            folder / "orthanc", folder / "data", move_destinations=moves, disable_get=True
        ) as orthanc,
        run_dcmqrscp(
            folder / "dcmqrscp", folder / "data", move_destinations=moves, disable_get=True
        ) as dcmqrscp,
    ):
        assert orthanc.instance_count == dcmqrscp.instance_count == 3
        yield Beds(written, orthanc, dcmqrscp, receivers)


def _service(beds: Beds, workdir: Path, ae_title: str, cap: int | None) -> Any:
    workdir.mkdir(parents=True, exist_ok=True)
    env = mover_env(
        workdir,
        beds.orthanc,
        beds.dcmqrscp,
        retrieve="move",
        receiver=beds.receivers[ae_title],
        ae_title=ae_title,
        **cap_settings(cap),
    )
    return run_service(workdir, env)


@pytest.fixture(scope="module")
def services(beds: Beds, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    folder = tmp_path_factory.mktemp("frames-move-services")
    with (
        _service(beds, folder / "small", SMALL, SMALL_CAP) as small,
        _service(beds, folder / "big", BIG, None) as big,
    ):
        yield small, big, folder / "small"


CASES: Final = [("orthanc C-MOVE", "native"), ("orthanc C-MOVE", "rle"), ("orthanc C-MOVE", "rle-bot")]
CASES.append(("dcmqrscp C-MOVE", "native"))


@pytest.mark.parametrize(("node", "name"), CASES)
async def test_frames_of_an_instance_past_the_cap_render_by_move_as_through_a_big_cap(
    beds: Beds, services: Services, node: str, name: str
) -> None:
    small, big, workdir = services
    await assert_frames_render_alike(small, big, NODES[node], beds.written[name], FIRST_MIDDLE_LAST)
    record = audit_records(workdir, "render_image")[-1]
    assert record["outcome"] == "success"
    assert record["pixel_data"] == (
        f"frames {FRAMES} of {FRAMES}: read frame by frame from the C-MOVE's C-STORE to the receiver "
        "(the instance is larger than the byte cap)"
    ), record


@pytest.mark.parametrize(("node", "name"), [CASES[1], CASES[-1]])
async def test_a_window_of_frames_past_the_cap_is_shown_by_move_as_through_a_big_cap(
    beds: Beds, services: Services, node: str, name: str
) -> None:
    small, big, _ = services
    await assert_window_shown_alike(small, big, NODES[node], beds.written[name], start=30, count=4)


async def test_the_default_frame_and_the_header_alone_are_read_by_move_past_the_cap(
    beds: Beds, services: Services
) -> None:
    small, _, _ = services
    written = beds.written["native"]
    watched = await probe(
        small, "render_image", sop_instance_uid=written.sop, series_instance_uid=written.series
    )
    assert not watched.result.is_error, watched.error()  # frame 1 by default: read frame by frame too
    watched = await probe(small, "get_instance_metadata", sop_instance_uid=written.sop)
    assert not watched.result.is_error, watched.error()
