"""An instance whose pixel data holds only some of its frames, made readable as those frames alone.

A frame read of an instance larger than the byte cap keeps its header whole (Number of Frames,
per-frame functional groups and all) and, in its pixel data, only the frames asked for
(`model/framepick.py`: native frames one after the other; encapsulated ones one fragment each,
with an empty offset table). `compact` turns that into a dataset of just those frames, so the
ordinary display pipeline reads them: Number of Frames is their count, and the per-frame
functional groups (and a Frame Time Vector) are the held frames' own. `Held` maps frame numbers
of the instance to the compact dataset's and back, so a result still says "frame n of N".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydicom.dataset import Dataset
from pydicom.encaps import generate_fragments

from dicom_mcp.errors import NotRenderable


@dataclass(frozen=True)
class Held:
    """The frames a dataset's pixel data holds (numbers from 1, ascending) of the instance's `total`."""

    frames: tuple[int, ...]
    total: int

    def index(self, frame: int) -> int:
        """The compact dataset's number (from 1) of the instance's frame `frame`.

        Raises:
            NotRenderable: the frame does not exist, or was not retrieved.
        """
        if not 1 <= frame <= self.total:
            raise NotRenderable(
                f"frame {frame} does not exist: the instance has {self.total} frame(s), numbered from 1"
            )
        if frame not in self.frames:
            raise NotRenderable(f"frame {frame} was not retrieved with this instance")
        return self.frames.index(frame) + 1

    def original(self, index: int) -> int:
        """The instance's frame number of the compact dataset's frame `index` (from 1)."""
        return self.frames[index - 1]


def compact(ds: Dataset, held: Held) -> Dataset:
    """A dataset of the held frames only (see the module docstring); `ds` is left as it is.

    Raises:
        NotRenderable: the pixel data does not hold the frames it should.
    """
    count = len(held.frames)
    one = Dataset()
    for element in ds:
        one.add(element)
    if hasattr(ds, "file_meta"):
        one.file_meta = ds.file_meta
    # New elements, never a change to one `ds` shares: its frame numbers stay the instance's.
    _replace(one, "NumberOfFrames", count)
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    if per_frame is not None and len(per_frame) >= held.total:
        _replace(one, "PerFrameFunctionalGroupsSequence", [per_frame[f - 1] for f in held.frames])
    vector = ds.get("FrameTimeVector")
    if vector is not None and isinstance(vector, Sequence) and len(vector) >= held.total:
        _replace(one, "FrameTimeVector", [vector[f - 1] for f in held.frames])
    data = ds.get("PixelData")
    if not isinstance(data, bytes):
        raise NotRenderable("the instance's pixel data was not retrieved")
    encapsulated = ds.file_meta.TransferSyntaxUID.is_encapsulated  # one fragment a frame (framepick)
    if encapsulated and sum(1 for _ in generate_fragments(data)) != count + 1:
        raise NotRenderable("the frames retrieved of the instance are not whole")
    return one


def _replace(ds: Dataset, keyword: str, value: Any) -> None:
    if keyword in ds:
        delattr(ds, keyword)
    setattr(ds, keyword, value)
