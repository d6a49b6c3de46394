"""Frames of an instance larger than the byte cap, read over DICOMweb as its metadata and frames.

The instances of testbeds/frames.py sit in an Orthanc whose DICOMweb plugin two services reach
as the node `web`: one with a 512 KiB cap, which finds them too large to hold and asks WADO-RS
for the instance's metadata and the frames alone (`dicomweb/frames.py`), one with the default
cap, which takes them whole. render_image of the first, a middle and the last frame gives the
same PNG and summary from both, viewer_frames the same window, and the audit record says how
the frames were read.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import anyio
import httpx
import pytest
from pydicom.uid import ExplicitVRLittleEndian

from dicom_mcp.dicomweb.exchange import Exchange
from dicom_mcp.dicomweb.frames import FRAMES_BY_WEB, read_frames
from dicom_mcp.errors import MalformedAnswer, RetrieveTooLarge
from dicom_mcp.model.instances import FramesKept, Instance
from dicom_mcp.pacs.budget import Budget
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
from testbeds.pacs.orthanc import run_orthanc
from testbeds.service import run_service
from testbeds.watch import probe
from tests.reading_beds import audit_records

pytestmark = pytest.mark.anyio

WEB: Final = "web"
NAMES: Final = ("native", "rle", "rle-bot")


@dataclass(frozen=True)
class Beds:
    written: dict[str, Written]
    orthanc: RunningPacs


@pytest.fixture(scope="module")
def beds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Beds]:
    folder = tmp_path_factory.mktemp("frames-web")
    written = write_frames(folder / "data")
    with run_orthanc(folder / "orthanc", folder / "data") as orthanc:
        assert orthanc.instance_count == 3
        yield Beds(written, orthanc)


def _service(beds: Beds, workdir: Path, cap: int | None) -> Any:
    nodes = f'[nodes.{WEB}]\nprotocol = "dicomweb"\nurl = "{beds.orthanc.dicomweb_url}"\n'
    return run_service(workdir, capped_service_env(workdir, pacs_env(beds.orthanc, "MCPFRWEB"), nodes, cap))


@pytest.fixture(scope="module")
def services(beds: Beds, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    folder = tmp_path_factory.mktemp("frames-web-services")
    with _service(beds, folder / "small", SMALL_CAP) as small, _service(beds, folder / "big", None) as big:
        yield small, big, folder / "small"


@pytest.mark.parametrize("name", NAMES)
async def test_frames_of_an_instance_past_the_cap_render_over_dicomweb_as_through_a_big_cap(
    beds: Beds, services: Services, name: str
) -> None:
    small, big, workdir = services
    await assert_frames_render_alike(small, big, WEB, beds.written[name], FIRST_MIDDLE_LAST)
    record = audit_records(workdir, "render_image")[-1]
    assert record["outcome"] == "success"
    assert record["pixel_data"] == (
        f"frames {FRAMES} of {FRAMES}: read frame by frame from WADO-RS frames and metadata "
        "(the instance is larger than the byte cap)"
    ), record


@pytest.mark.parametrize("name", ["native", "rle"])
async def test_a_window_of_frames_past_the_cap_is_shown_over_dicomweb_as_through_a_big_cap(
    beds: Beds, services: Services, name: str
) -> None:
    small, big, _ = services
    await assert_window_shown_alike(small, big, WEB, beds.written[name], start=30, count=4)


async def test_a_frame_that_does_not_exist_says_so_over_dicomweb(beds: Beds, services: Services) -> None:
    small, _, _ = services
    written = beds.written["rle"]
    watched = await probe(small, "render_image", node=WEB, sop_instance_uid=written.sop, frame=FRAMES + 1)
    assert watched.result.is_error
    assert f"the instance has {FRAMES} frame(s)" in watched.error(), watched.error()


# Faults of an archive, from a fake transport: what `read_frames` makes of its answers.

_META: Final = json.dumps(
    [
        {
            "00280008": {"vr": "IS", "Value": [3]},
            "00280010": {"vr": "US", "Value": [2]},
            "00280011": {"vr": "US", "Value": [2]},
        }
    ]
).encode()


def _multipart(bodies: list[bytes], content_type: str) -> httpx.Response:
    body = b"".join(
        b"--b\r\nContent-Type: " + content_type.encode() + b"\r\n\r\n" + one + b"\r\n" for one in bodies
    )
    return httpx.Response(
        200, content=body + b"--b--\r\n", headers={"Content-Type": "multipart/related; boundary=b"}
    )


async def _read(
    answer: Callable[[httpx.Request, int], httpx.Response], budget: Budget | None = None
) -> list[Instance]:
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Accept"])
        if request.url.path.endswith("/metadata"):
            return httpx.Response(200, content=_META, headers={"Content-Type": "application/dicom+json"})
        return answer(request, len(seen))

    async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as http:
        exchange = Exchange(http, "http://archive", "node 'fake'", 5.0, anyio.current_time() + 30)
        return await read_frames(
            exchange,
            ["studies", "1", "series", "2", "instances", "3"],
            budget or Budget(1 << 20),
            "3",
            (1, 3),
        )


async def test_an_archive_that_will_not_send_frames_as_stored_sends_its_default() -> None:
    def answer(request: httpx.Request, count: int) -> httpx.Response:
        if "transfer-syntax=*" in request.headers["Accept"]:
            return httpx.Response(406)
        assert request.url.path.endswith("/frames/1,3")
        return _multipart([b"\x01\x00" * 4, b"\x03\x00" * 4], "application/octet-stream")

    budget = Budget(1 << 20)
    (instance,) = await _read(answer, budget)
    assert instance.syntax == ExplicitVRLittleEndian
    assert instance.frames_kept == FramesKept((1, 3), 3, FRAMES_BY_WEB)
    assert instance.data.endswith(
        b"\xe0\x7f\x10\x00OW\x00\x00\x10\x00\x00\x00" + b"\x01\x00" * 4 + b"\x03\x00" * 4
    )
    assert budget.held == len(instance.data)  # what the answers took is let go; the instance is held


@pytest.mark.parametrize(
    ("bodies", "content_type"),
    [
        ([b"\x01\x00" * 4], "application/octet-stream"),  # a part missing
        ([b"\x01", b"\x03"], "image/jpeg"),  # a codec's frames that name no transfer syntax
        ([b"\x01", b"\x03"], "application/octet-stream; transfer-syntax=1.2.840.10008.1.2"),  # implicit VR
    ],
)
async def test_frames_an_archive_should_not_send_are_a_malformed_answer(
    bodies: list[bytes], content_type: str
) -> None:
    with pytest.raises(MalformedAnswer):
        await _read(lambda request, count: _multipart(bodies, content_type))


async def test_frames_past_the_budget_are_too_large() -> None:
    big = b"\x00" * 4096
    with pytest.raises(RetrieveTooLarge):
        await _read(lambda request, count: _multipart([big, big], "application/octet-stream"), Budget(6000))
