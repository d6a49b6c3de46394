"""What a sandbox worker does with a job: parse the instances, pick the one asked for, make the result.

Runs inside the worker process only. A job names the SOP Instance UID it wants (and the study
and series it was located in): other instances a PACS sent along are ignored, and one with the
right UID in another study or series is refused, so one patient's report or image is never shown
as another's. Every failure becomes an `Outcome` error of a known kind with a message of ours,
naming the cause, never a value read from the instance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from io import BytesIO
from typing import Any, Final

from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filereader import read_dataset
from pydicom.uid import UID

from dicom_mcp.errors import NotRenderable, ReportUnreadable
from dicom_mcp.model.instances import DICOM_JSON
from dicom_mcp.privacy.pixels import refusal
from dicom_mcp.reading import attributes
from dicom_mcp.reading.header import header
from dicom_mcp.reading.identity import identity
from dicom_mcp.reading.image import render
from dicom_mcp.reading.pictures import cine, frame_count, frame_pictures, picture
from dicom_mcp.reading.report import report
from dicom_mcp.reading.sparse import Held, compact
from dicom_mcp.reading.structure import TooComplex, check_shape
from dicom_mcp.sandbox.metadata import NotMetadata, from_metadata

UNREADABLE: Final = "unreadable"
NOT_RENDERABLE: Final = "not_renderable"
NOT_FOUND: Final = "not_found"
WITHHELD: Final = "withheld"
MISMATCH: Final = "mismatch"


class JobFailed(Exception):
    """A job's failure, of a kind the service maps to its own error."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Outcome:
    """A job's JSON result and its bytes (a picture), or nothing and an error."""

    result: dict[str, Any]
    payload: bytes = b""


def run(job: dict[str, Any], blobs: list[tuple[bytes, str]]) -> Outcome:
    """Run the job `job["kind"]` over the instances in `blobs` ((bytes, transfer syntax) pairs).

    Raises:
        JobFailed: see the module docstring.
    """
    kind = str(job.get("kind"))
    make = _JOBS.get(kind)
    if make is None:
        raise JobFailed(UNREADABLE, f"unknown job {kind!r}")
    failure = NOT_RENDERABLE if kind in ("render", "picture") else UNREADABLE
    options = job.get("options") or {}
    try:
        index, ds = chosen(blobs, job.get("expected") or {})
        held = held_of(job, index)
        if held is not None and kind in ("render", "picture"):
            make = partial(_HELD[kind], held=held)
        if not options.get("identify"):
            return make(ds, options)
        facts = identity(ds)
        if kind in ("render", "picture") and (why := refusal(facts)) is not None:
            raise JobFailed(WITHHELD, f"not shown in the pseudonymised view: {why}")
        outcome = make(ds, options)
        return Outcome({**outcome.result, "identity": facts}, outcome.payload)
    except JobFailed:
        raise
    except NotRenderable as exc:
        raise JobFailed(NOT_RENDERABLE, str(exc)) from None
    except ReportUnreadable as exc:
        raise JobFailed(UNREADABLE, str(exc)) from None
    except MemoryError:
        raise
    except RecursionError:
        raise JobFailed(failure, "the instance is nested too deeply to read") from None
    except Exception as exc:  # pydicom, pypdf, numpy and Pillow raise many kinds; texts may quote values
        what = "shown" if failure == NOT_RENDERABLE else "read"
        raise JobFailed(failure, f"the instance could not be {what} ({type(exc).__name__})") from None


def held_of(job: dict[str, Any], index: int) -> Held | None:
    """The frames blob `index` holds, when it holds only some (`job["held"]`: blob index -> [frames, total])."""
    entry = (job.get("held") or {}).get(str(index))
    if entry is None:
        return None
    frames, total = entry
    return Held(tuple(int(f) for f in frames), int(total))


def chosen(blobs: list[tuple[bytes, str]], expected: dict[str, str]) -> tuple[int, Dataset]:
    """The instance with the expected SOP Instance UID, checked against its study and series, and
    the index of its blob."""
    wanted = expected.get("sop")
    for index, (data, syntax) in enumerate(blobs):
        try:
            ds = parsed(data, syntax)
            uid = attributes.text(ds, "SOPInstanceUID")
        except MemoryError:
            raise
        except Exception:  # an unreadable extra instance is not the one asked for
            if len(blobs) == 1:
                raise
            continue
        if wanted and uid != wanted:
            continue  # another instance the PACS sent along: never used
        for level, keyword in (("study", "StudyInstanceUID"), ("series", "SeriesInstanceUID")):
            if expected.get(level) and attributes.text(ds, keyword) != expected[level]:
                raise JobFailed(
                    MISMATCH,
                    f"the PACS sent an instance with that SOP Instance UID that does not belong to the {level} "
                    "it was located in; it is not shown",
                )
        return index, ds
    raise JobFailed(NOT_FOUND, "the PACS sent no instance with that SOP Instance UID")


def parsed(data: bytes, syntax: str) -> Dataset:
    """The dataset of `data`, encoded in `syntax` ("" for a file whose encoding must be guessed,
    DICOM_JSON for WADO-RS metadata)."""
    if not syntax:
        return dcmread(BytesIO(data), force=True)
    if syntax == DICOM_JSON:  # an instance's WADO-RS metadata
        try:
            return from_metadata(data)
        except (TooComplex, NotMetadata) as exc:
            raise JobFailed(UNREADABLE, str(exc)) from None
    uid = UID(syntax)
    try:
        check_shape(data, implicit_vr=uid.is_implicit_VR, little_endian=uid.is_little_endian)
    except TooComplex as exc:
        raise JobFailed(UNREADABLE, str(exc)) from None
    ds = read_dataset(BytesIO(data), uid.is_implicit_VR, uid.is_little_endian)
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = uid
    return ds


def _header(ds: Dataset, options: dict[str, Any]) -> Outcome:
    return Outcome({"header": header(ds)})


def _report(ds: Dataset, options: dict[str, Any]) -> Outcome:
    redact = options.get("redact")
    return Outcome({"report": report(ds, int(options["max_chars"]), redact=str(redact) if redact else None)})


def _render(ds: Dataset, options: dict[str, Any]) -> Outcome:
    rendered = render(
        ds,
        frame=int(options["frame"]),
        center=options.get("center"),
        width=options.get("width"),
        max_size=int(options["max_size"]),
        max_pixels=int(options["max_pixels"]),
    )
    return Outcome({"summary": rendered.summary, "mime_type": "image/png"}, rendered.png)


def _picture(ds: Dataset, options: dict[str, Any]) -> Outcome:
    if options.get("frames") is not None:
        return _frame_pictures(ds, options)
    shown = picture(
        ds,
        center=options.get("center"),
        width=options.get("width"),
        max_size=int(options["max_size"]),
        max_pixels=int(options["max_pixels"]),
        max_bytes=int(options["max_bytes"]),
        pixels_left=None if options.get("pixels_left") is None else int(options["pixels_left"]),
    )
    return Outcome({"summary": shown.summary, "mime_type": shown.mime_type}, shown.data)


def _held_render(ds: Dataset, options: dict[str, Any], held: Held) -> Outcome:
    """`_render` of an instance holding only some frames: its frame numbers are the instance's."""
    outcome = _render(compact(ds, held), {**options, "frame": held.index(int(options["frame"]))})
    return Outcome({**outcome.result, "summary": _numbered(outcome.result["summary"], held)}, outcome.payload)


def _held_picture(ds: Dataset, options: dict[str, Any], held: Held) -> Outcome:
    if options.get("frames") is None:
        return _held_render(ds, {**options, "frame": held.frames[0]}, held)
    return _frame_pictures(ds, options, held)


def _numbered(summary: dict[str, Any], held: Held) -> dict[str, Any]:
    return {**summary, "frame": held.original(int(summary["frame"])), "number_of_frames": held.total}


def _frame_pictures(ds: Dataset, options: dict[str, Any], held: Held | None = None) -> Outcome:
    """Several frames of the one instance (`pictures.frame_pictures`): each picture's bytes in turn."""
    source, wanted = ds, [int(frame) for frame in options["frames"]]
    if held is not None:  # only these frames were retrieved: shown from a dataset of them alone
        wanted = [held.index(frame) for frame in wanted if frame in held.frames]
        ds = compact(source, held)
    number = held.original if held is not None else int
    shown = frame_pictures(
        ds,
        wanted,
        center=options.get("center"),
        width=options.get("width"),
        max_size=int(options["max_size"]),
        max_pixels=int(options["max_pixels"]),
        pixels_left=int(options["pixels_left"]),
        max_bytes=int(options["max_bytes"]),
        max_total=int(options["max_total"]),
    )
    timing = cine(source)
    items = [
        {"frame": number(s.frame), "reason": s.reason}
        if s.picture is None
        else {
            "frame": number(s.frame),
            "summary": s.picture.summary if held is None else _numbered(s.picture.summary, held),
            "mime_type": s.picture.mime_type,
            "bytes": len(s.picture.data),
            "frame_time_ms": timing.duration(number(s.frame)) if timing else None,
        }
        for s in shown
    ]
    result = {
        "number_of_frames": frame_count(source),
        "timing": timing.source if timing else None,
        "frames": items,
    }
    return Outcome(result, b"".join(s.picture.data for s in shown if s.picture is not None))


_JOBS: Final[dict[str, Callable[[Dataset, dict[str, Any]], Outcome]]] = {
    "header": _header,
    "report": _report,
    "render": _render,
    "picture": _picture,
}
_HELD: Final[dict[str, Callable[..., Outcome]]] = {"render": _held_render, "picture": _held_picture}
