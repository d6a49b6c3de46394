"""An instance too large for the byte cap, read over WADO-RS as its metadata and a few frames.

WADO-RS serves an instance's frames apart (`.../instances/{uid}/frames/{n,m,...}`, PS3.18
10.4.1.1.4) and its attributes as DICOM JSON (`.../metadata`). When the instance itself passes
the call's budget, render_image and viewer_frames ask for those two instead and build what a
frame read over DIMSE hands on (`dimse/scu/frames.py`): the header, then a Pixel Data element
holding only the frames asked for (native ones one after the other; compressed ones one fragment
each, after an empty Basic Offset Table), with `frames_kept` saying which. Both answers count
against the call's budget as they arrive; what is kept is the instance built of them.

Frames are asked for as stored (`transfer-syntax=*`); an archive that will not (406) sends its
default, uncompressed Explicit VR Little Endian. Debian's Orthanc 1.10 with its DICOMweb plugin
1.7 does both: each part is one frame, in the order asked for, typed application/octet-stream
(native) or by its codec (image/dicom-rle, ...) with a transfer-syntax parameter; frames past
Number of Frames are a 400. Its metadata names no transfer syntax and leaves out encapsulated
pixel data.

The metadata becomes a binary header here, in a worker thread, by pydicom's JSON reader: no
pixel decoder runs, and its size was bounded by the budget; the rest is parsed in the sandbox.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from typing import Any, Final

import anyio.to_thread
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pydicom.uid import UID, ExplicitVRLittleEndian

from dicom_mcp.dicomweb import errors, multipart
from dicom_mcp.dicomweb.exchange import MAX_PARTS, Exchange
from dicom_mcp.dicomweb.search import url_path
from dicom_mcp.errors import NotRenderable
from dicom_mcp.model.fragments import encapsulated_element
from dicom_mcp.model.instances import FramesKept, Instance
from dicom_mcp.pacs.budget import Budget

FRAMES_BY_WEB: Final = (
    "read frame by frame from WADO-RS frames and metadata (the instance is larger than the byte cap)"
)
AS_STORED: Final = 'multipart/related; type="application/octet-stream"; transfer-syntax=*'
DEFAULT_SYNTAX: Final = 'multipart/related; type="application/octet-stream"'
_NATIVE: Final = "application/octet-stream"
_PIXEL_GROUP: Final = 0x7FE0  # Pixel Data and its float kinds, left out of the header


async def read_frames(
    exchange: Exchange, path: Sequence[str], budget: Budget, sop_uid: str, frames: tuple[int, ...]
) -> list[Instance]:
    """The instance at `path` (…/instances/{uid}) with only `frames` (numbers from 1) in its pixel
    data; none when it is not there.

    Raises:
        NotRenderable: none of `frames` exists.
        RetrieveTooLarge: the metadata and frames passed the call's budget.
        PacsError: the archive failed, or sent what is not metadata and frames.
    """
    held = budget.held
    metadata = await exchange.metadata(url_path([*path, "metadata"]), budget, sop_uid)
    if not metadata:
        return []
    header, total = await anyio.to_thread.run_sync(_header, metadata[0].data, exchange.where)
    wanted = tuple(sorted({frame for frame in frames if 1 <= frame <= total}))
    if not wanted:
        raise NotRenderable(f"frames asked for do not exist: the instance has {total} frame(s)")
    numbers = ",".join(str(frame) for frame in wanted)
    parts = await _frames(exchange, f"{url_path(path)}/frames/{numbers}", budget)
    if len(parts) != len(wanted):
        raise errors.malformed(exchange.where, "WADO-RS frames answer (one part per frame asked for)")
    syntax = _syntax(parts, exchange.where)
    data = header + pixel_element(parts, syntax)
    budget.give(budget.held - held)  # what came is let go: the instance built of it is kept
    budget.take(len(data), exchange.where)
    return [Instance(data, str(syntax), frames_kept=FramesKept(wanted, total, FRAMES_BY_WEB))]


async def _frames(exchange: Exchange, path: str, budget: Budget) -> list[multipart.Part]:
    """GET the frames at `path`, as stored if the archive will; their parts, in order."""
    content_type, body = await exchange.body(path, (AS_STORED, DEFAULT_SYNTAX), budget)
    boundary = multipart.boundary_of(content_type)
    if boundary is None:
        raise errors.malformed(exchange.where, "multipart/related answer")
    try:
        return await anyio.to_thread.run_sync(multipart.parts, body, boundary, MAX_PARTS)
    except multipart.CutShort:
        raise errors.cut_short(exchange.where) from None
    except multipart.MultipartError:
        raise errors.malformed(exchange.where, "multipart/related answer") from None


def _header(body: bytes, where: str) -> tuple[bytes, int]:
    """The metadata's dataset without its pixel data, encoded in Explicit VR Little Endian, and
    its Number of Frames."""
    try:
        document: Any = json.loads(body)
        if isinstance(document, list) and len(document) == 1:
            document = document[0]
        if not isinstance(document, dict):
            raise ValueError("not one dataset")
        ds = Dataset.from_json(document, bulk_data_uri_handler=_by_reference)
        for tag in [element.tag for element in ds if element.tag.group in (0x0002, _PIXEL_GROUP)]:
            del ds[tag]
        total = int(ds.get("NumberOfFrames") or 1)
        out = DicomBytesIO()
        out.is_little_endian, out.is_implicit_VR = True, False
        write_dataset(out, ds)
    except Exception:  # any failure of pydicom on what the archive sent is the archive's
        raise errors.malformed(where, "WADO-RS metadata") from None
    return out.getvalue(), total


def _by_reference(tag: str, vr: str, uri: str) -> None:
    """Bulk data stays where it is (the pixel data is asked for as frames)."""
    return None


def _syntax(parts: list[multipart.Part], where: str) -> UID:
    """The one transfer syntax of the frames (uncompressed Explicit VR Little Endian when unnamed)."""
    named = {
        part.transfer_syntax or (ExplicitVRLittleEndian if part.content_type == _NATIVE else "")
        for part in parts
    }
    if len(named) != 1 or "" in named:
        raise errors.malformed(where, "WADO-RS frames answer (one transfer syntax, named)")
    syntax = UID(named.pop())
    if not syntax.is_little_endian or syntax.is_implicit_VR or syntax.is_deflated:
        raise errors.malformed(where, "WADO-RS frames answer (a transfer syntax frames may come in)")
    return syntax


def pixel_element(parts: list[multipart.Part], syntax: UID) -> bytes:
    """A Pixel Data element (Explicit VR Little Endian) holding the frames of `parts`, in order."""
    tag = struct.pack("<HH", 0x7FE0, 0x0010)
    if not syntax.is_compressed:
        value = b"".join(part.body for part in parts)
        value += b"\x00" * (len(value) % 2)
        return tag + b"OW\x00\x00" + struct.pack("<L", len(value)) + value
    return encapsulated_element(part.body for part in parts)
