"""Frames of an instance larger than the byte cap, read frame by frame from the stream.

Three 64-frame instances (testbeds/frames.py: uncompressed, RLE with and without a Basic Offset
Table; 1.6 to 2 MB each) sit in an Orthanc and a dcmqrscp of this module's own. A service whose
cap is 512 KiB finds them too large to hold, yet render_image of the first, a middle and the last
frame gives the very PNG a service with the default cap (64 MiB, which takes them whole) gives,
by C-GET from both PACS; viewer_frames shows a window of frames as the big service does; and the
audit record says the frames were read frame by frame.
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
    capped_service_env,
    pacs_env,
    write_frames,
)
from testbeds.pacs import RunningPacs
from testbeds.pacs.dcmqrscp import run_dcmqrscp
from testbeds.pacs.orthanc import run_orthanc
from testbeds.service import run_service
from testbeds.watch import probe
from tests.reading_beds import audit_records

pytestmark = pytest.mark.anyio

NODES: Final = {"orthanc C-GET": None, "dcmqrscp C-GET": "dcmqrscp"}


@dataclass(frozen=True)
class Beds:
    written: dict[str, Written]
    orthanc: RunningPacs
    dcmqrscp: RunningPacs


@pytest.fixture(scope="module")
def beds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Beds]:
    folder = tmp_path_factory.mktemp("frames-large")
    written = write_frames(folder / "data")
    with (
        run_orthanc(folder / "orthanc", folder / "data") as orthanc,
        run_dcmqrscp(folder / "dcmqrscp", folder / "data") as dcmqrscp,
    ):
        assert orthanc.instance_count == dcmqrscp.instance_count == 3
        yield Beds(written, orthanc, dcmqrscp)


def _service(beds: Beds, workdir: Path, cap: int | None) -> Any:
    d = beds.dcmqrscp
    nodes = f'[nodes.dcmqrscp]\nhost = "{d.host}"\nport = {d.port}\nae_title = "{d.ae_title}"\n'
    return run_service(workdir, capped_service_env(workdir, pacs_env(beds.orthanc, "MCPFRAMES"), nodes, cap))


@pytest.fixture(scope="module")
def services(beds: Beds, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    folder = tmp_path_factory.mktemp("frames-services")
    with _service(beds, folder / "small", SMALL_CAP) as small, _service(beds, folder / "big", None) as big:
        yield small, big, folder / "small"


# dcmqrscp sends only in the syntax of the first context it accepts, uncompressed: RLE from Orthanc.
CASES: Final = [("orthanc C-GET", "native"), ("orthanc C-GET", "rle"), ("orthanc C-GET", "rle-bot")]
CASES.append(("dcmqrscp C-GET", "native"))


@pytest.mark.parametrize(("node", "name"), CASES)
async def test_frames_of_an_instance_past_the_cap_render_as_through_a_big_cap(
    beds: Beds, services: Services, node: str, name: str
) -> None:
    small, big, workdir = services
    await assert_frames_render_alike(small, big, NODES[node], beds.written[name], FIRST_MIDDLE_LAST)
    record = audit_records(workdir, "render_image")[-1]
    assert record["outcome"] == "success"
    assert record["pixel_data"].startswith(f"frames {FRAMES} of {FRAMES}: read frame by frame"), record


@pytest.mark.parametrize(("node", "name"), [*CASES[::2], CASES[-1]])
async def test_a_window_of_frames_past_the_cap_is_shown_as_through_a_big_cap(
    beds: Beds, services: Services, node: str, name: str
) -> None:
    small, big, _ = services
    await assert_window_shown_alike(small, big, NODES[node], beds.written[name], start=30, count=4)


async def test_a_frame_that_does_not_exist_says_so(beds: Beds, services: Services) -> None:
    small, _, _ = services
    written = beds.written["native"]
    watched = await probe(small, "render_image", sop_instance_uid=written.sop, frame=FRAMES + 1)
    assert watched.result.is_error
    assert f"the instance has {FRAMES} frame(s)" in watched.error(), watched.error()
