"""The vendor and toolkit files of pydicom and pydicom-data, stored in Orthanc, read through the real service.

Each image is rendered by render_image over HTTP (frame 1, and the last frame of a multi-frame
instance, at its own size up to 1024 pixels) and held against DCMTK's dcmj2pnm given the VOI the
service reports it applied: the instance's window (+Ww), its VOI LUT (+Wl), or the frame's range
(+Wm, the same linear map). DCMTK's 16-bit output is the reference, so two identical pipelines
differ only by the service's rounding to 8 bits, at most 0.5 of a level. The bar, per image:
0.7 of 255 on average per sample, and at most 0.1% of samples more than 2 levels apart (lossy
decoders differ by a few levels here and there). Every file is compared, or listed in corpus.py
with its reason, and each reason is checked.

Files sharing a SOP Instance UID (one image in several transfer syntaxes) are stored in turns:
a turn holds one file per UID, is read through the service, then deleted from Orthanc.
"""

from __future__ import annotations

import base64
import io
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import numpy as np
import pytest
from mcp import Client
from PIL import Image

from testbeds.clients import mcp_client
from testbeds.pacs import RunningPacs
from testbeds.pacs.orthanc import run_orthanc
from testbeds.service import run_service, service_env
from tests.realworld.corpus import (
    COMPLETED,
    NO_PIXELS,
    NO_REFERENCE,
    NOT_IMAGES,
    NOT_STORED,
    REFUSED,
    TWINS,
    Difference,
    completed,
    corpus,
    dcmtk_picture,
    difference,
    header,
    window_options,
)

FILES = corpus()
LISTS = (NOT_STORED, NOT_IMAGES, REFUSED, TWINS, NO_REFERENCE)
COMPARED = sorted(name for name in FILES if not any(name in listed for listed in LISTS))
# Headers read with get_instance_metadata (a header read costs a retrieval like a render).
HEADERS = {"bad_sequence.dcm", *NOT_IMAGES, *REFUSED}
MEAN_BAR, FAR_SHARE = 0.7, 0.001  # Difference.over_two counts samples more than 2 levels apart
CALLS_AT_ONCE = 2


@dataclass
class Read:
    """What the service answered for one stored file."""

    header: dict[str, Any] | None = None
    header_error: str | None = None
    frames: dict[int, tuple[np.ndarray, dict[str, Any]]] = field(default_factory=dict)
    render_error: str | None = None


@dataclass
class Corpus:
    """Where each file was stored from, and what the service answered (no entry: Orthanc refused it)."""

    paths: dict[str, Path]
    reads: dict[str, Read]


def uid_turns(paths: dict[str, Path]) -> list[list[str]]:
    """The files in turns, each holding at most one file per SOP Instance UID."""
    turns: list[list[str]] = []
    seen: dict[str, int] = defaultdict(int)
    for name, path in sorted(paths.items()):
        ds = header(path)
        uid = str(ds.get("SOPInstanceUID", "")) if ds is not None else ""
        turn = seen[uid] if uid else 0
        seen[uid] += 1
        turns.extend([] for _ in range(turn + 1 - len(turns)))
        turns[turn].append(name)
    return turns


def keys(path: Path) -> dict[str, str]:
    ds = header(path)
    assert ds is not None
    uids = {
        "sop_instance_uid": ds.get("SOPInstanceUID"),
        "series_instance_uid": ds.get("SeriesInstanceUID"),
        "study_instance_uid": ds.get("StudyInstanceUID"),
    }
    return {key: str(value) for key, value in uids.items() if value}


def frames_to_show(path: Path) -> tuple[list[int], int]:
    """Frame 1 and the last frame, and the PNG size that keeps the image whole (up to 1024)."""
    ds = header(path)
    assert ds is not None
    try:
        last = max(1, int(ds.get("NumberOfFrames") or 1))
    except ValueError:  # badVR.dcm's '1A'
        last = 1
    side = max(int(ds.get("Rows") or 0), int(ds.get("Columns") or 0))
    return sorted({1, last}), max(16, min(1024, side))


def error_text(result: Any) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)


async def read_one(client: Client, name: str, path: Path, into: Read) -> None:
    """get_instance_metadata where wanted, then render_image of frame 1 and of the last frame."""
    arguments = keys(path)
    if name in HEADERS:
        result = await client.call_tool("get_instance_metadata", arguments)
        into.header, into.header_error = (
            (None, error_text(result)) if result.is_error else (dict(result.structured_content or {}), None)
        )
    frames, size = frames_to_show(path)
    for frame in frames:
        result = await client.call_tool("render_image", {**arguments, "frame": frame, "max_size": size})
        if result.is_error:
            into.render_error = error_text(result)
            return
        image = next(block for block in result.content if block.type == "image")
        pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(image.data))))
        into.frames[frame] = (pixels, dict(result.structured_content or {}))


async def read_turn(url: str, names: list[str], paths: dict[str, Path], reads: dict[str, Read]) -> None:
    queue = list(names)

    async def worker() -> None:
        async with mcp_client(url, "modern") as client:
            while queue:
                name = queue.pop()
                await read_one(client, name, paths[name], reads.setdefault(name, Read()))

    async with anyio.create_task_group() as group:
        for _ in range(CALLS_AT_ONCE):
            group.start_soon(worker)


def pacs_env(pacs: RunningPacs) -> dict[str, str]:
    return {"DICOM_HOST": pacs.host, "DICOM_PORT": str(pacs.port), "DICOM_CALLED_AE_TITLE": pacs.ae_title}


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corpus]:
    """Every file stored in Orthanc, turn by turn, and read through the service."""
    workdir = tmp_path_factory.mktemp("realworld")
    (workdir / "completed").mkdir()
    paths = {
        name: completed(path, workdir / "completed") if name in COMPLETED else path
        for name, path in FILES.items()
    }
    reads: dict[str, Read] = {}
    with (
        run_orthanc(workdir / "orthanc", None) as pacs,
        # A 1955x1841 JPEG 2000 radiograph takes seconds to decode on a busy machine: room beyond 10 s.
        run_service(workdir, service_env(pacs_env(pacs), parse_timeout="30")) as service,
        httpx.Client(base_url=str(pacs.http_url), timeout=60) as orthanc,
    ):
        for turn in uid_turns(paths):
            ids = {name: orthanc.post("/instances", content=paths[name].read_bytes()) for name in turn}
            kept = {
                name: response.json()["ID"] for name, response in ids.items() if response.status_code == 200
            }
            anyio.run(read_turn, service.mcp_url, sorted(kept), paths, reads)
            for instance in kept.values():
                orthanc.delete(f"/instances/{instance}").raise_for_status()
        yield Corpus(paths, reads)


def held_against(corpus: Corpus, name: str, reference: str) -> dict[int, Difference]:
    """The service's pictures of `name`, each compared with DCMTK's picture of `reference`."""
    read = corpus.reads[name]
    assert read.render_error is None, read.render_error
    differences = {}
    for frame, (pixels, summary) in read.frames.items():
        path = corpus.paths[reference]
        options = window_options(summary, header(path))
        picture = dcmtk_picture(path, frame, options, pixels.ndim == 3)
        assert picture is not None, f"DCMTK could not render {reference} (frame {frame}, {options})"
        differences[frame] = difference(pixels, picture)
    return differences


def assert_close(differences: dict[int, Difference]) -> None:
    for frame, apart in differences.items():
        assert apart.mean <= MEAN_BAR and apart.over_two <= FAR_SHARE, f"frame {frame}: {apart}"


def test_every_file_is_compared_or_listed_once() -> None:
    listed = [name for names in LISTS for name in names]
    assert len(listed) == len(set(listed)), "a file is in two lists"
    assert set(listed) <= set(FILES), set(listed) - set(FILES)
    assert len(COMPARED) >= 90


@pytest.mark.parametrize("name", COMPARED)
def test_an_image_renders_as_dcmtk_shows_it(stored: Corpus, name: str) -> None:
    assert_close(held_against(stored, name, name))


@pytest.mark.parametrize("name", sorted(TWINS))
def test_an_image_dcmtk_cannot_show_renders_as_its_twin(stored: Corpus, name: str) -> None:
    twin, _why = TWINS[name]
    assert_close(held_against(stored, name, twin))
    pixels, summary = stored.reads[name].frames[1]
    own = dcmtk_picture(
        stored.paths[name], 1, window_options(summary, header(stored.paths[name])), pixels.ndim == 3
    )
    assert own is None or difference(pixels, own).mean > MEAN_BAR, "DCMTK shows it now: compare it directly"


@pytest.mark.parametrize("name", sorted(NO_REFERENCE))
def test_an_image_no_one_else_decodes_still_renders(stored: Corpus, name: str) -> None:
    read = stored.reads[name]
    assert read.render_error is None and read.frames, read.render_error
    pixels, _ = read.frames[1]
    assert pixels.std() > 0, "a blank picture"
    assert dcmtk_picture(stored.paths[name], 1, (), pixels.ndim == 3) is None, "DCMTK decodes it now"


@pytest.mark.parametrize("name", sorted(NOT_IMAGES))
def test_a_file_without_an_image_has_its_header_read_and_is_refused_as_no_picture(
    stored: Corpus, name: str
) -> None:
    read = stored.reads[name]
    assert read.header is not None, read.header_error
    assert read.render_error is not None and NO_PIXELS in read.render_error


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_what_cannot_be_shown_is_refused_clearly(stored: Corpus, name: str) -> None:
    expected, _why = REFUSED[name]
    read = stored.reads[name]
    assert read.render_error is not None and expected in read.render_error, read.render_error


@pytest.mark.parametrize("name", sorted(NOT_STORED))
def test_orthanc_refuses_what_it_cannot_store(stored: Corpus, name: str) -> None:
    assert name not in stored.reads


def test_bad_sequence_with_hexadecimal_uids_is_read_and_rendered(stored: Corpus) -> None:
    read = stored.reads["bad_sequence.dcm"]
    assert read.header is not None, read.header_error
    assert (
        read.header["sop_instance_uid"] == "dccc9599087131742838cc1162a630fea87ba9bf61ac09bfda90d4adfa5ddaed"
    )
    assert_close(held_against(stored, "bad_sequence.dcm", "bad_sequence.dcm"))


def test_12_bit_jpeg_with_a_non_standard_scan_is_decoded_by_gdcm(stored: Corpus) -> None:
    _, summary = stored.reads["JPEG-lossy.dcm"].frames[1]
    assert summary["transfer_syntax"] == "JPEG Extended (Process 2 and 4)"
    assert_close(held_against(stored, "JPEG-lossy.dcm", "JPEG-lossy.dcm"))
