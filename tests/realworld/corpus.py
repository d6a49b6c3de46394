"""The real-world corpus, what is known about its files, and DCMTK's picture of each image.

The files are those of the installed packages, pydicom's test files and pydicom-data's data
store: nothing is downloaded. Every file is held against DCMTK's rendering, or listed below with
the reason it is not; the tests check each reason too, so no list can hide a file that would
now compare.
"""

from __future__ import annotations

import io
import subprocess
import warnings
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.uid import JPEGLSTransferSyntaxes, generate_uid

_FRAGMENT = "a dataset fragment from pydicom's parser tests, without a SOP Instance UID"
# Orthanc refuses to store these, so no PACS query can reach them.
NOT_STORED = {
    "UN_sequence.dcm": _FRAGMENT,
    "empty_charset_LEI.dcm": _FRAGMENT,
    "emri_small_jpeg_2k_lossless_too_short.dcm": _FRAGMENT,
    "meta_missing_tsyntax.dcm": _FRAGMENT,
    "nested_priv_SQ.dcm": _FRAGMENT,
    "no_meta.dcm": _FRAGMENT,
    "no_meta_group_length.dcm": _FRAGMENT,
    "priv_SQ.dcm": _FRAGMENT,
    "MR_truncated.dcm": "its pixel data is cut short: DCMTK, and so Orthanc, cannot parse it",
    "rtplan_truncated.dcm": "cut short: DCMTK, and so Orthanc, cannot parse it",
    "SC_rgb_jpeg.dcm": "DCMTK, and so Orthanc, cannot parse it (premature end of stream)",
}
# Images written without the Patient ID, Study and Series Instance UIDs Orthanc requires: stored
# as copies with those three added (the pixel data untouched), then compared like the rest.
COMPLETED = {
    "JPEGLSNearLossless_08.dcm": "JPEG-LS near-lossless, 8 bits",
    "JPEGLSNearLossless_16.dcm": "JPEG-LS near-lossless, 16 bits",
    "SC_rgb_jls_lossy_line.dcm": "JPEG-LS near-lossless RGB, line interleaved",
    "SC_rgb_jls_lossy_sample.dcm": "JPEG-LS near-lossless RGB, sample interleaved",
}
# Stored, but no image in them: render_image says so (`NO_PIXELS`), and their headers are read.
NO_PIXELS = "has no pixel data to show"
NOT_IMAGES = {
    "ExplVR_BigEndNoMeta.dcm": "RT Ion Plan",
    "ExplVR_LitEndNoMeta.dcm": "RT Ion Plan",
    "reportsi.dcm": "Basic Text SR",
    "reportsi_with_empty_number_tags.dcm": "Basic Text SR",
    "rtplan.dcm": "RT Plan",
    "rtstruct.dcm": "RT Structure Set",
    "test-SR.dcm": "Comprehensive SR",
    "waveform_ecg.dcm": "12-lead ECG waveform",
}
# Images refused with a clear error (the text it must contain), and why that is right.
REFUSED = {
    "badVR.dcm": (
        "Number of Frames is not a whole number",
        "its Number of Frames is '1A'; DCMTK reads 1, the service says why it does not guess",
    ),
    "JPEG2000-embedded-sequence-delimiter.dcm": (
        "codestream declares 3722445056x1024 pixels",
        "a parser test: the bytes of a Sequence Delimitation Item overwrite its codestream's SIZ "
        "marker, whose width then reads 3722445056; no decoder (GDCM, OpenJPEG, Pillow) takes it",
    ),
    "explicit_VR-UN.dcm": (
        "C-GET failed with status 0xC000",
        "its SOP Class UID is stored with VR UN; Orthanc reads it as bytes ('31') and finds no "
        "presentation context to send it in",
    ),
    "rtdose_rle.dcm": ("C-GET failed with status 0xC000", "as explicit_VR-UN.dcm: SOP Class UID in VR UN"),
    "rtdose_rle_1frame.dcm": ("C-GET failed with status 0xC000", "as explicit_VR-UN.dcm"),
}
# Images DCMTK cannot show rightly: held against DCMTK's picture of the same image as stored
# in another file of the set (uncompressed, little endian, or fewer bits).
_NO_J2K = "the free DCMTK decodes no JPEG 2000"
TWINS = {
    "693_J2KI.dcm": ("693_UNCI.dcm", _NO_J2K),
    "693_J2KR.dcm": ("693_UNCR.dcm", _NO_J2K),
    "MR2_J2KI.dcm": ("MR2_UNCI.dcm", _NO_J2K),
    "MR2_J2KR.dcm": ("MR2_UNCR.dcm", _NO_J2K),
    "RG1_J2KI.dcm": ("RG1_UNCI.dcm", _NO_J2K),
    "RG1_J2KR.dcm": ("RG1_UNCR.dcm", _NO_J2K),
    "RG3_J2KI.dcm": ("RG3_UNCI.dcm", _NO_J2K),
    "RG3_J2KR.dcm": ("RG3_UNCR.dcm", _NO_J2K),
    "US1_J2KI.dcm": ("US1_UNCI.dcm", _NO_J2K),
    "US1_J2KR.dcm": ("US1_UNCR.dcm", _NO_J2K),
    "JPEG2000.dcm": ("JPEG2000_UNC.dcm", _NO_J2K),
    "MR_small_jp2klossless.dcm": ("MR_small.dcm", _NO_J2K),
    "emri_small_jpeg_2k_lossless.dcm": ("emri_small.dcm", _NO_J2K),
    "SC_rgb_gdcm_KY.dcm": ("SC_rgb_gdcm2k_uncompressed.dcm", _NO_J2K),
    "SC_rgb_32bit.dcm": ("SC_rgb.dcm", "DCMTK refuses 32-bit RGB (Unsupported element value)"),
    "SC_rgb_32bit_2frame.dcm": ("SC_rgb_2frame.dcm", "DCMTK refuses 32-bit RGB"),
    "SC_rgb_expb_32bit.dcm": ("SC_rgb.dcm", "DCMTK refuses 32-bit RGB"),
    "SC_rgb_expb_32bit_2frame.dcm": ("SC_rgb_2frame.dcm", "DCMTK refuses 32-bit RGB"),
    "rtdose_expb.dcm": ("rtdose.dcm", "DCMTK misreads big-endian 32-bit doses (no min/max window)"),
    "rtdose_expb_1frame.dcm": ("rtdose_1frame.dcm", "DCMTK misreads big-endian 32-bit doses"),
}
# Images DCMTK cannot decode and with no twin in the set: they must render, unchecked.
NO_REFERENCE = {
    "GDCMJ2K_TextGBR.dcm": _NO_J2K,
    "J2K_pixelrep_mismatch.dcm": _NO_J2K,
    "examples_jpeg2k.dcm": _NO_J2K,
    "gdcm-US-ALOKA-16.dcm": "DCMTK refuses its palette (Invalid element value)",
    "gdcm-US-ALOKA-16_big.dcm": "DCMTK refuses its palette (Invalid element value)",
}


def corpus() -> dict[str, Path]:
    """Every *.dcm file of pydicom's test files and of pydicom-data, by file name."""
    roots = [Path(str(files("pydicom.data") / "test_files")), Path(str(files("data_store") / "data"))]
    found = {path.name: path for root in roots for path in sorted(root.glob("*.dcm"))}
    assert len(found) > 140, f"the corpus looks incomplete ({len(found)} files): is pydicom-data installed?"
    return found


@cache
def header(path: Path) -> Dataset | None:
    """The file's header, or None when pydicom cannot read one."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # invalid values are what this corpus is for
        try:
            return pydicom.dcmread(path, stop_before_pixels=True, force=True)
        except Exception:  # deliberately broken files in the set
            return None


def completed(path: Path, into: Path) -> Path:
    """A copy of `path` with the patient and parent identifiers Orthanc requires."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(path)
    ds.PatientID = "REALWORLD"
    ds.StudyInstanceUID = generate_uid(entropy_srcs=[path.name, "study"])
    ds.SeriesInstanceUID = generate_uid(entropy_srcs=[path.name, "series"])
    copy = into / path.name
    ds.save_as(copy)
    return copy


@dataclass(frozen=True)
class Difference:
    """How far the service's picture is from DCMTK's, in grey levels of 255, per sample."""

    mean: float
    worst: float
    over_two: float  # share of samples more than 2 levels apart

    def __str__(self) -> str:
        return f"mean {self.mean:.3f}, worst {self.worst:.2f}, {self.over_two:.3%} over 2 levels"


def window_options(summary: dict[str, Any], ds: Dataset) -> tuple[str, ...]:
    """dcmj2pnm's options for the VOI the service reports it applied (none for colour)."""
    window = summary["window"]
    source = str(window["source"])
    if window["center"] is None:
        return ("+Wl", "1") if "VOI LUT" in source else ()
    if source == "range":  # LINEAR_EXACT over the frame's range: DCMTK's min-max window is the same map
        return ("+Wm",)
    sigmoid = str(ds.get("VOILUTFunction", "")).upper() == "SIGMOID"
    return ("+Ww", repr(window["center"]), repr(window["width"]), *(("+Wfs",) if sigmoid else ()))


@cache
def dcmtk_picture(path: Path, frame: int, options: tuple[str, ...], colour: bool) -> np.ndarray | None:
    """DCMTK's rendering of `frame`, as floats in 0..255, or None if DCMTK cannot show it.

    dcmj2pnm, or dcml2pnm (the same tool built with JPEG-LS) for JPEG-LS; overlays off, as the
    service shows none; 16-bit output for grey, so that the service's rounding to 8 bits is
    all that can separate two identical pipelines.
    """
    syntax = getattr(header(path), "file_meta", Dataset()).get("TransferSyntaxUID")
    tool = "dcml2pnm" if syntax in JPEGLSTransferSyntaxes else "dcmj2pnm"
    depth = "--write-png" if colour else "--write-16-bit-png"
    command = [tool, *options, "-O", "+F", str(frame), "-il", depth, str(path)]  # the PNG on stdout
    done = subprocess.run(command, capture_output=True, timeout=60)
    if done.returncode != 0 or not done.stdout:
        return None
    with Image.open(io.BytesIO(done.stdout)) as image:
        if colour:
            return np.asarray(image.convert("RGB"), dtype=np.float64)
        return np.asarray(image, dtype=np.float64) * 255.0 / 65535.0


def difference(ours: np.ndarray, reference: np.ndarray) -> Difference:
    """Compare at the service's size: DCMTK's picture is resized (Lanczos, in floats) when they differ."""
    if reference.shape[:2] != ours.shape[:2]:
        size = (ours.shape[1], ours.shape[0])
        planes = (
            [reference] if reference.ndim == 2 else [reference[..., i] for i in range(reference.shape[2])]
        )
        resized = [
            np.asarray(Image.fromarray(p.astype(np.float32)).resize(size, Image.Resampling.LANCZOS))
            for p in planes
        ]
        reference = resized[0] if reference.ndim == 2 else np.stack(resized, axis=-1)
    if reference.shape != ours.shape:
        return Difference(255.0, 255.0, 1.0)
    apart = np.abs(ours.astype(np.float64) - reference)
    return Difference(float(apart.mean()), float(apart.max()), float(np.mean(apart > 2.0)))
