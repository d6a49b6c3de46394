"""render_image: one frame of an instance as a PNG the model and the user can look at."""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult, ImageContent, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from dicom_mcp.errors import InvalidQuery
from dicom_mcp.model.validation import check_uid
from dicom_mcp.services import Services
from dicom_mcp.tools.call import tool_call
from dicom_mcp.tools.params import Session, WindowCenter, WindowWidth, described
from dicom_mcp.tools.reading import expected, fetched, locate_instance
from dicom_mcp.viewer.models import WindowUsed


class RescaleUsed(BaseModel):
    """The rescale to stored values' unit (e.g. HU) and where the instance keeps it."""

    intercept: float
    slope: float
    type: str | None = Field(description="Rescale Type, e.g. HU")
    source: str = Field(
        description="top level, shared functional groups, per-frame functional groups, or none"
    )


class FrameContent(BaseModel):
    """A frame's place in a multi-frame instance (Frame Content macro), as far as the instance says."""

    stack_id: str | int | None = None
    in_stack_position: int | None = None
    temporal_position: int | None = None
    dimension_index: list[int] | int | None = None


class RenderSummary(BaseModel):
    """What was rendered, next to the PNG image block."""

    rows: int
    columns: int
    number_of_frames: int
    frame: int
    photometric_interpretation: str
    window: WindowUsed
    rescale: RescaleUsed | None = Field(None, description="The modality LUT's rescale (greyscale only)")
    frame_content: FrameContent | None = Field(
        None, description="What the frame is, where a multi-frame instance says (its Frame Content)"
    )
    transfer_syntax: str | None
    output_size: dict[str, int] = Field(description="width and height of the PNG, in pixels")
    png_bytes: int


def register_image_tools(server: MCPServer[Any], services: Services) -> None:
    """Add render_image to `server`."""
    settings = services.settings

    async def render_image(
        ctx: Context[Any, Any],
        sop_instance_uid: Annotated[
            str, Field(description="SOP Instance UID of the image (required)", min_length=1, max_length=64)
        ],
        series_instance_uid: Annotated[
            str | None, Field(description="Its Series Instance UID, if known", min_length=1, max_length=64)
        ] = None,
        study_instance_uid: Annotated[
            str | None, Field(description="Its Study Instance UID, if known", min_length=1, max_length=64)
        ] = None,
        frame: Annotated[
            int, Field(description="Frame to show, from 1 (multi-frame images)", ge=1, le=2**31 - 1)
        ] = 1,
        window_center: WindowCenter = None,
        window_width: WindowWidth = None,
        max_size: Annotated[
            int, Field(description="Longest side of the PNG, in pixels (never enlarged)", ge=16, le=1024)
        ] = 512,
        session: Session = None,
    ) -> Annotated[CallToolResult, RenderSummary]:
        """Show one frame of an image as a PNG, through DICOM's display pipeline (rescale, the window you give
        or the instance's own, MONOCHROME1 inverted, colour converted). Returns the image and a short summary."""
        async with tool_call(services, ctx, "render_image", "read", session) as call:
            uids = {
                "sop_instance_uid": sop_instance_uid,
                "series_instance_uid": series_instance_uid,
                "study_instance_uid": study_instance_uid,
            }
            call.fields.update(
                keys={k: check_uid(k, v) for k, v in uids.items() if v is not None}, frame=frame
            )
            if (window_center is None) != (window_width is None):
                raise InvalidQuery("window_center and window_width go together: give both, or neither")
            where = await locate_instance(
                services, call, sop_instance_uid, series_instance_uid, study_instance_uid
            )
            async with fetched(services, call, call.node, where, frames=(frame,)) as instances:
                rendered = await services.sandbox.render(
                    instances,
                    expected(where),
                    frame=frame,
                    center=window_center,
                    width=window_width,
                    max_size=min(max_size, settings.render_max_size),
                    max_pixels=settings.render_max_pixels,
                )
        summary = RenderSummary.model_validate(rendered.result["summary"])
        text = json.dumps(summary.model_dump(mode="json"), separators=(",", ":"))
        image = ImageContent(
            type="image", data=base64.b64encode(rendered.payload).decode(), mime_type="image/png"
        )
        return CallToolResult(
            content=[image, TextContent(type="text", text=text)],
            structured_content=summary.model_dump(mode="json"),
        )

    annotations = ToolAnnotations(read_only_hint=True, open_world_hint=True)
    server.add_tool(render_image, description=described(render_image), annotations=annotations)
