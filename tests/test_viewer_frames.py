"""The viewer's frame windows below MCP: a cine's timing, a window of frames within its budgets,
and how a pseudonymised caller reads one.

Pure functions over generated datasets (tests/viewer_host/cine.py); the same windows through
real PACS are in test_viewer.py, and in a browser in test_viewer_browser.py.
"""

from __future__ import annotations

import base64
from io import BytesIO

from PIL import Image
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.tag import Tag

from dicom_mcp.privacy.answers import Answer
from dicom_mcp.privacy.disclosure import Disclosure
from dicom_mcp.privacy.keys import PseudonymKeys
from dicom_mcp.privacy.pseudonyms import UID
from dicom_mcp.reading.pictures import cine, frame_pictures
from dicom_mcp.sandbox.jobs import run
from dicom_mcp.viewer.models import IMAGES_META
from tests.viewer_host.cine import US_FRAME_TIME, US_FRAMES, XA_FRAMES, us_cine, us_colour, xa_run

US_PIXELS = 96 * 128


def window(ds: Dataset, frames: list[int], **budgets: int) -> list[tuple[int, str | None]]:
    limits = {"pixels_left": 10**9, "max_total": 10**9, **budgets}
    shown = frame_pictures(
        ds, frames, center=None, width=None, max_size=512, max_pixels=10**8, max_bytes=10**6, **limits
    )
    return [(s.frame, s.picture.mime_type if s.picture else s.reason) for s in shown]


def test_frame_time_times_every_frame() -> None:
    timing = cine(us_cine())
    assert timing is not None and timing.source == "frame time"
    assert timing.durations == (US_FRAME_TIME,) * US_FRAMES


def test_a_frame_time_vector_gives_each_frame_the_time_until_the_next() -> None:
    timing = cine(xa_run())
    assert timing is not None and timing.source == "frame time vector"
    assert timing.durations == (50.0,) * 7 + (100.0,) * 9
    assert (timing.duration(1), timing.duration(XA_FRAMES)) == (50.0, 100.0)


def test_the_frame_increment_pointer_chooses_between_frame_time_and_its_vector() -> None:
    ds = xa_run()
    ds.FrameTime = 33.0
    assert cine(ds).source == "frame time vector"  # type: ignore[union-attr]
    ds.FrameIncrementPointer = Tag("FrameTime")
    assert cine(ds).source == "frame time"  # type: ignore[union-attr]


def test_cine_rate_is_frames_per_second() -> None:
    ds = us_cine()
    del ds.FrameTime, ds.FrameIncrementPointer
    ds.CineRate = 25
    timing = cine(ds)
    assert timing is not None and (timing.source, timing.durations[0]) == ("cine rate", 40.0)


def test_no_usable_rate_is_no_cine() -> None:
    ds = us_cine()
    ds.FrameTime = 0
    del ds.FrameIncrementPointer
    assert cine(ds) is None
    ds.FrameTimeVector = [0, 40, 40]  # not one value per frame
    ds.CineRate = -25
    assert cine(ds) is None
    ds[Tag("CineRate")] = RawDataElement(Tag("CineRate"), "IS", 4, b"abc ", 0, False, True)
    assert cine(ds) is None  # unreadable as the IS it claims to be
    single = us_cine()
    single.NumberOfFrames = 1
    assert cine(single) is None


def test_a_window_keeps_only_frames_that_exist() -> None:
    assert window(us_cine(), [19, 20, 21, 22]) == [(19, "image/png"), (20, "image/png")]


def test_a_window_ends_where_the_pixel_budget_does() -> None:
    assert [f for f, _ in window(us_cine(), [1, 2, 3, 4], pixels_left=2 * US_PIXELS)] == [1, 2]
    ((frame, reason),) = window(us_cine(), [5, 6], pixels_left=US_PIXELS - 1)
    assert frame == 5 and reason is not None and "DICOM_MCP_RENDER_MAX_PIXELS" in reason


def test_a_window_ends_where_the_byte_budget_does_but_keeps_its_first_picture() -> None:
    one = frame_pictures(
        us_cine(), [1], center=None, width=None, max_size=512, max_pixels=10**8, max_bytes=10**6,
        pixels_left=10**9, max_total=10**9,
    )  # fmt: skip
    size = len(one[0].picture.data)  # type: ignore[union-attr]
    assert [f for f, _ in window(us_cine(), [1, 2, 3], max_total=2 * size + size // 2)] == [1, 2]
    assert [f for f, _ in window(us_cine(), [1, 2, 3], max_total=1)] == [1]


def test_the_sandbox_job_returns_each_frames_picture_in_turn() -> None:
    ds = us_cine()
    blob = _native(ds)
    options = {
        "frames": [1, 2, 3],
        "max_size": 512,
        "max_pixels": 10**8,
        "pixels_left": 10**9,
        "max_bytes": 10**6,
        "max_total": 10**9,
    }
    job = {"kind": "picture", "expected": {"sop": ds.SOPInstanceUID}, "options": options}
    outcome = run(job, [blob])
    items = outcome.result["frames"]
    assert outcome.result["number_of_frames"] == US_FRAMES and outcome.result["timing"] == "frame time"
    assert [(i["frame"], i["frame_time_ms"]) for i in items] == [(n, US_FRAME_TIME) for n in (1, 2, 3)]
    assert sum(i["bytes"] for i in items) == len(outcome.payload)
    assert outcome.payload.startswith(b"\x89PNG")


def _native(ds: Dataset) -> tuple[bytes, str]:
    """The dataset as a Part 10 file, whose encoding the job reads from its meta ("")."""
    out = BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue(), ""


def test_a_pseudonymised_frame_window_keeps_frame_numbers_and_timing_and_tokenises_the_instance() -> None:
    keys = PseudonymKeys(b"an operator secret of at least 32 bytes").for_principal("researcher")
    study_uid, series_uid, sop_uid = (f"1.2.826.0.1.3680043.8.498.77.{n}" for n in (1, 2, 3))
    frame = {
        "index": 0, "sop_instance_uid": sop_uid, "instance_number": 1, "frame": 1, "rows": 96,
        "columns": 128, "number_of_frames": 20, "frame_time_ms": 40.0,
        "window": {"center": None, "width": None, "source": "not applicable (colour)"},
        "width": 128, "height": 96, "mime_type": "image/png", "bytes": 3,
    }  # fmt: skip
    structured = {
        "study_instance_uid": study_uid, "series_instance_uid": series_uid, "steps": "frames",
        "sop_instance_uid": sop_uid, "total": 20, "truncated": False, "frame_time_source": "frame time",
        "start": 0, "frames": [frame, {**frame, "index": 1, "frame": 2}], "skipped": [], "next_start": 2,
        "bytes": 6,
    }  # fmt: skip
    png = base64.b64encode(_png()).decode()
    pictures = [{"uid": sop_uid, "frame": n, "mimeType": "image/png", "data": png} for n in (1, 2)]
    disclosure = Disclosure()
    disclosure.shown.add(sop_uid)
    answer = {"content": [], "structuredContent": structured, "_meta": {IMAGES_META: pictures}}
    out = Answer(keys, disclosure, patient=None, originals={}, pictures_meta=IMAGES_META).rewrite(answer)
    token = keys.token(UID, sop_uid)
    kept = out["structuredContent"]
    assert (kept["steps"], kept["frame_time_source"], kept["sop_instance_uid"]) == (
        "frames",
        "frame time",
        token,
    )
    assert [(f["frame"], f["frame_time_ms"], f["sop_instance_uid"]) for f in kept["frames"]] == [
        (1, 40.0, token),
        (2, 40.0, token),
    ]
    assert [(p["uid"], p["frame"]) for p in out["_meta"][IMAGES_META]] == [(token, 1), (token, 2)]


def _png() -> bytes:
    out = BytesIO()
    Image.new("RGB", (4, 4), us_colour(0)).save(out, format="PNG")
    return out.getvalue()
