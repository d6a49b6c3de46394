"""Frames of an instance larger than the byte cap, read frame by frame from the stream.

Three 64-frame instances (testbeds/frames.py: uncompressed, RLE with and without a Basic Offset
Table; 1.6 to 2 MB each) sit in an Orthanc and a dcmqrscp of this module's own. A service whose
cap is 512 KiB finds them too large to hold, yet render_image of the first, a middle and the last
frame gives the very PNG a service with the default cap (64 MiB, which takes them whole) gives,
by C-GET from both PACS; viewer_frames shows a window of frames as the big service does; and the
audit record says the frames were read frame by frame.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pytest

from testbeds.frames import FRAMES, STUDY, Written, write_frames
from testbeds.pacs import RunningPacs
from testbeds.pacs.dcmqrscp import run_dcmqrscp
from testbeds.pacs.orthanc import run_orthanc
from testbeds.service import RunningService, run_service, service_env
from testbeds.watch import probe
from tests.reading_beds import audit_records

pytestmark = pytest.mark.anyio

SMALL_CAP: Final = 512 * 1024
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
    workdir.mkdir(parents=True, exist_ok=True)
    nodes = workdir / "nodes.toml"
    d = beds.dcmqrscp
    nodes.write_text(
        f'[nodes.dcmqrscp]\nhost = "{d.host}"\nport = {d.port}\nae_title = "{d.ae_title}"\n', encoding="utf-8"
    )
    pacs = {
        "DICOM_HOST": beds.orthanc.host,
        "DICOM_PORT": str(beds.orthanc.port),
        "DICOM_CALLED_AE_TITLE": beds.orthanc.ae_title,
        "DICOM_AE_TITLE": "MCPFRAMES",
    }
    settings = {"nodes_file": str(nodes), "audit_log": str(workdir / "audit.jsonl")}
    if cap is not None:
        settings["max_retrieve_bytes"] = str(cap)
    return run_service(workdir, service_env(pacs, **settings))


@pytest.fixture(scope="module")
def services(
    beds: Beds, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningService, RunningService, Path]]:
    folder = tmp_path_factory.mktemp("frames-services")
    with _service(beds, folder / "small", SMALL_CAP) as small, _service(beds, folder / "big", None) as big:
        yield small, big, folder / "small"


def _image(result: Any) -> bytes:
    return base64.b64decode(result.content[0].data)


# dcmqrscp sends only in the syntax of the first context it accepts, uncompressed: RLE from Orthanc.
CASES: Final = [("orthanc C-GET", "native"), ("orthanc C-GET", "rle"), ("orthanc C-GET", "rle-bot")]
CASES.append(("dcmqrscp C-GET", "native"))


@pytest.mark.parametrize(("node", "name"), CASES)
async def test_frames_of_an_instance_past_the_cap_render_as_through_a_big_cap(
    beds: Beds, services: tuple[RunningService, RunningService, Path], node: str, name: str
) -> None:
    small, big, workdir = services
    written = beds.written[name]
    for frame in (1, FRAMES // 2, FRAMES):
        arguments = {"sop_instance_uid": written.sop, "series_instance_uid": written.series, "frame": frame}
        whole = await probe(big, "render_image", node=NODES[node], **arguments)
        picked = await probe(small, "render_image", node=NODES[node], **arguments)
        assert not whole.result.is_error and not picked.result.is_error, str(picked)
        assert _image(picked.result) == _image(whole.result)
        assert picked.result.structured_content == whole.result.structured_content
        summary = picked.result.structured_content or {}
        assert (summary["frame"], summary["number_of_frames"]) == (frame, FRAMES)
    record = audit_records(workdir, "render_image")[-1]
    assert record["outcome"] == "success"
    assert record["pixel_data"].startswith(f"frames {FRAMES} of {FRAMES}: read frame by frame"), record


@pytest.mark.parametrize(("node", "name"), [*CASES[::2], CASES[-1]])
async def test_a_window_of_frames_past_the_cap_is_shown_as_through_a_big_cap(
    beds: Beds, services: tuple[RunningService, RunningService, Path], node: str, name: str
) -> None:
    small, big, _ = services
    written = beds.written[name]
    arguments = {
        "study_instance_uid": STUDY,
        "series_instance_uid": written.series,
        "sop_instance_uid": written.sop,
        "start": 30,
        "count": 4,
    }
    whole = await probe(big, "viewer_frames", node=NODES[node], **arguments)
    picked = await probe(small, "viewer_frames", node=NODES[node], **arguments)
    assert not whole.result.is_error and not picked.result.is_error, str(picked)
    assert picked.result.structured_content == whole.result.structured_content
    assert picked.result.meta == whole.result.meta
    frames = (picked.result.structured_content or {})["frames"]
    assert len(frames) == 4


async def test_a_frame_that_does_not_exist_says_so(
    beds: Beds, services: tuple[RunningService, RunningService, Path]
) -> None:
    small, _, _ = services
    written = beds.written["native"]
    watched = await probe(small, "render_image", sop_instance_uid=written.sop, frame=FRAMES + 1)
    assert watched.result.is_error
    assert f"the instance has {FRAMES} frame(s)" in watched.error(), watched.error()
