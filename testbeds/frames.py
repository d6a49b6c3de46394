"""Multi-frame instances of a few MB, for reading frame by frame past a small byte cap.

One study, one series per instance: 16-bit MONOCHROME2 frames of deterministic noise (so no
codec shrinks them much), 128 x 128, 64 frames (2 MB of pixel data each), stored uncompressed
(Explicit VR Little Endian), and RLE Lossless (one fragment per frame) with and without a
Basic Offset Table. A service whose DICOM_MCP_MAX_RETRIEVE_BYTES is 512 KiB finds each "large".

What the tests of them share is here too: the environment of a service with a small or the default
cap, and the comparisons of what the small-cap service answers with what the big-cap one does.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeAlias

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate, generate_frames
from pydicom.pixels import compress
from pydicom.uid import UID, ExplicitVRLittleEndian, RLELossless

from testbeds.pacs import RunningPacs
from testbeds.service import RunningService, service_env
from testbeds.watch import probe

ENHANCED_MR: Final = "1.2.840.10008.5.1.4.1.1.4.1"
MULTIFRAME_GREY: Final = "1.2.840.10008.5.1.4.1.1.7.3"  # Multi-frame Grayscale Word SC
ROOT: Final = "1.2.826.0.1.3680043.8.498.7710"
STUDY: Final = f"{ROOT}.1"
ROWS, COLUMNS, FRAMES = 128, 128, 64
PATIENT: Final = ("Frames^Many", "FRAMES0001")
SMALL_CAP: Final = 512 * 1024  # bytes: each instance is larger
FIRST_MIDDLE_LAST: Final = (1, FRAMES // 2, FRAMES)

# The service with SMALL_CAP, the one with the default cap, and the small one's workdir (its audit trail).
Services: TypeAlias = tuple[RunningService, RunningService, Path]


@dataclass(frozen=True)
class Written:
    name: str
    series: str
    sop: str
    path: Path
    syntax: str


def _dataset(number: int) -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID, ds.SOPInstanceUID = MULTIFRAME_GREY, f"{ROOT}.1.{number}.1"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = STUDY, f"{ROOT}.1.{number}"
    ds.StudyDate, ds.StudyTime, ds.Modality = "20240612", "090000", "OT"
    ds.PatientName, ds.PatientID = PATIENT
    ds.StudyID, ds.SeriesNumber, ds.InstanceNumber, ds.AccessionNumber = "1", number, 1, "ACCFRAMES"
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.NumberOfFrames, ds.Rows, ds.Columns = FRAMES, ROWS, COLUMNS
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.FrameIncrementPointer = 0x00181063
    ds.FrameTime = 40.0
    rng = np.random.default_rng(number)
    noise = rng.integers(0, 4096, size=(FRAMES, ROWS, COLUMNS), dtype=np.uint16)
    noise[:, : ROWS // 4, :] = (np.arange(FRAMES, dtype=np.uint16) * 60)[:, None, None]  # each frame its own
    ds.PixelData = noise.astype("<u2").tobytes()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = UID(MULTIFRAME_GREY)
    ds.file_meta.MediaStorageSOPInstanceUID = UID(ds.SOPInstanceUID)
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return ds


def write_frames(folder: Path) -> dict[str, Written]:
    """The three instances ("native", "rle", "rle-bot"), as Part 10 files in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, Written] = {}
    for number, name in enumerate(("native", "rle", "rle-bot"), start=1):
        ds = _dataset(number)
        if name != "native":
            ds = compress(ds, RLELossless, encoding_plugin="pydicom")
            frames = list(generate_frames(ds.PixelData, number_of_frames=FRAMES))
            ds.PixelData = encapsulate(frames, has_bot=name == "rle-bot")
        path = folder / f"{name}.dcm"
        ds.save_as(path, enforce_file_format=True)
        syntax = str(ds.file_meta.TransferSyntaxUID)
        written[name] = Written(name, ds.SeriesInstanceUID, ds.SOPInstanceUID, path, syntax)
    return written


def pacs_env(pacs: RunningPacs, ae_title: str) -> dict[str, str]:
    """The settings that make `pacs` a service's default PACS, called as `ae_title`."""
    return {
        "DICOM_HOST": pacs.host,
        "DICOM_PORT": str(pacs.port),
        "DICOM_CALLED_AE_TITLE": pacs.ae_title,
        "DICOM_AE_TITLE": ae_title,
    }


def cap_settings(cap: int | None) -> dict[str, str]:
    """The byte cap `cap` as a service setting; None keeps the default (64 MiB: takes these whole)."""
    return {} if cap is None else {"max_retrieve_bytes": str(cap)}


def capped_service_env(
    workdir: Path, pacs: Mapping[str, str], nodes_toml: str, cap: int | None
) -> dict[str, str]:
    """The environment of a service in `workdir`: `pacs`, the nodes `nodes_toml`, its audit trail, `cap`."""
    workdir.mkdir(parents=True, exist_ok=True)
    nodes = workdir / "nodes.toml"
    nodes.write_text(nodes_toml, encoding="utf-8")
    settings = {"nodes_file": str(nodes), "audit_log": str(workdir / "audit.jsonl"), **cap_settings(cap)}
    return service_env(pacs, **settings)


def _png(result: Any) -> bytes:
    return base64.b64decode(result.content[0].data)


async def assert_frames_render_alike(
    small: RunningService, big: RunningService, node: str | None, written: Written, frames: Sequence[int]
) -> None:
    """render_image of each of `frames` gives the same PNG and summary from `small` as from `big`."""
    for frame in frames:
        arguments: dict[str, Any] = {
            "sop_instance_uid": written.sop,
            "series_instance_uid": written.series,
            "frame": frame,
        }
        whole = await probe(big, "render_image", node=node, **arguments)
        picked = await probe(small, "render_image", node=node, **arguments)
        assert not whole.result.is_error and not picked.result.is_error, str(picked)
        assert _png(picked.result) == _png(whole.result), f"frame {frame}: the PNGs differ"
        summary, expected = picked.result.structured_content, whole.result.structured_content
        assert summary == expected, f"frame {frame}: {summary} != {expected}"
        summary = summary or {}
        assert (summary["frame"], summary["number_of_frames"]) == (frame, FRAMES), summary


async def assert_window_shown_alike(
    small: RunningService, big: RunningService, node: str | None, written: Written, *, start: int, count: int
) -> None:
    """viewer_frames of `count` frames from `start` answers from `small` as from `big`, meta included."""
    arguments: dict[str, Any] = {
        "study_instance_uid": STUDY,
        "series_instance_uid": written.series,
        "sop_instance_uid": written.sop,
        "start": start,
        "count": count,
    }
    whole = await probe(big, "viewer_frames", node=node, **arguments)
    picked = await probe(small, "viewer_frames", node=node, **arguments)
    assert not whole.result.is_error and not picked.result.is_error, str(picked)
    shown, expected = picked.result.structured_content, whole.result.structured_content
    assert shown == expected, f"{shown} != {expected}"
    assert picked.result.meta == whole.result.meta, f"{picked.result.meta} != {whole.result.meta}"
    assert len((shown or {})["frames"]) == count, shown
