"""The structured results of the viewer's tools, each the source of its tool's output schema.

`tools/list` publishes each field's name and type (dicom_mcp.tools.schemas); the descriptions
here document the result for the viewer and for readers of the full schema.

Pixels never appear here: they travel in the result's `_meta` under IMAGES_META, a list of
{uid, frame, mimeType, data (base64)}, which hosts pass to the viewer and never to the model.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel, Field

IMAGES_META: Final = "dicom-mcp/images"


class SeriesItem(BaseModel):
    series_instance_uid: str
    series_number: int | None
    modality: str | None
    series_description: str | None
    instances: int | None = Field(description="Number of instances, when the PACS tells or lists them")
    number_of_frames: int | None = Field(
        None,
        description="When the series is one instance: its frames, when the PACS tells (the viewer "
        "steps through them); null otherwise",
    )
    kind: Literal["image", "report", "other"] = Field(
        description="image: shown in the viewer (render_image); report: read with read_report; other: neither"
    )


class StudyView(BaseModel):
    """The series of one study, as the viewer opens it."""

    study_instance_uid: str
    node: str | None = Field(description="The operator's name of the PACS that answered")
    series: list[SeriesItem]
    truncated: bool = Field(description="True when the study has more series than are listed")


class WindowUsed(BaseModel):
    """The VOI window a picture was rendered with."""

    center: float | None
    width: float | None
    source: str = Field(
        description="call, instance, instance (VOI LUT), range, or not applicable (colour); an enhanced "
        "instance's own window names where it is kept, e.g. instance (per-frame functional groups)"
    )


class Thumbnail(BaseModel):
    series_instance_uid: str
    sop_instance_uid: str = Field(description="The instance shown: the middle one of the series")
    instance_number: int | None
    width: int
    height: int
    mime_type: str
    bytes: int


class Skipped(BaseModel):
    series_instance_uid: str
    reason: str


class ThumbnailsResult(BaseModel):
    """One small picture per image series; the pictures are in `_meta`."""

    study_instance_uid: str
    thumbnails: list[Thumbnail]
    skipped: list[Skipped] = Field(description="Series with no picture, and why")
    remaining: list[str] = Field(description="Series left out to keep the result small: ask again for them")
    bytes: int = Field(description="Size of the pictures, before base64")


class SkippedFrame(BaseModel):
    index: int
    sop_instance_uid: str
    reason: str


class Frame(BaseModel):
    index: int = Field(description="Position from 0: of the instance in the series, or of the frame")
    sop_instance_uid: str
    instance_number: int | None
    frame: int = Field(description="The frame shown, from 1 (frame 1 of each instance of a series)")
    rows: int
    columns: int
    number_of_frames: int = Field(description="Frames in the instance")
    frame_time_ms: float | None = Field(
        description="How long this frame shows in a cine, in milliseconds; null when not a cine"
    )
    window: WindowUsed
    width: int
    height: int
    mime_type: str
    bytes: int


class FramesResult(BaseModel):
    """A window of a series' instances, or of one instance's frames, rendered; pictures in `_meta`."""

    study_instance_uid: str
    series_instance_uid: str
    steps: Literal["instances", "frames"] = Field(
        description="What the positions are: the series' instances, or the frames of one instance"
    )
    sop_instance_uid: str | None = Field(description="The instance whose frames these are (steps: frames)")
    total: int = Field(description="Positions: instances in the series (at most the listing cap), or frames")
    truncated: bool = Field(description="True when the series has more instances than the viewer lists")
    frame_time_source: Literal["frame time", "frame time vector", "cine rate"] | None = Field(
        description="Where frame_time_ms comes from (Frame Time, Frame Time Vector, Cine Rate); null if none"
    )
    start: int
    frames: list[Frame]
    skipped: list[SkippedFrame] = Field(description="Positions in the window with no picture, and why")
    next_start: int | None = Field(description="Where the next window starts; null at the end")
    bytes: int = Field(description="Size of the pictures, before base64")
