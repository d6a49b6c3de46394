"""render_image: one frame of an instance as a PNG the model and the user can look at."""

from __future__ import annotations

import base64
import json
from functools import partial
from typing import Annotated, Any

import anyio
import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult, ImageContent, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from dicom_mcp.dicom.errors import InvalidQuery
from dicom_mcp.dicom.validation import check_uid
from dicom_mcp.reading.image import render
from dicom_mcp.services import Services
from dicom_mcp.tools.call import tool_call
from dicom_mcp.tools.params import Session, described
from dicom_mcp.tools.reading import fetch_instance

# Decoding and resizing are CPU work: at most this many at once, off the event loop.
RENDERS_AT_ONCE = 2


class WindowUsed(BaseModel):
    center: float | None
    width: float | None
    source: str = Field(description="call, instance, instance (VOI LUT), range, or not applicable (colour)")


class RenderSummary(BaseModel):
    """What was rendered, next to the PNG image block."""

    rows: int
    columns: int
    number_of_frames: int
    frame: int
    photometric_interpretation: str
    window: WindowUsed
    transfer_syntax: str | None
    output_size: dict[str, int] = Field(description="width and height of the PNG, in pixels")
    png_bytes: int


def register_image_tools(server: MCPServer[Any], services: Services) -> None:
    """Add render_image to `server`."""
    settings = services.settings
    renders = anyio.CapacityLimiter(RENDERS_AT_ONCE)

    async def render_image(
        ctx: Context[Any, Any],
        sop_instance_uid: Annotated[
            str, Field(description="SOP Instance UID of the image (required)", max_length=64)
        ],
        series_instance_uid: Annotated[
            str | None, Field(description="Its Series Instance UID, if known", max_length=64)
        ] = None,
        study_instance_uid: Annotated[
            str | None, Field(description="Its Study Instance UID, if known", max_length=64)
        ] = None,
        frame: Annotated[int, Field(description="Frame to show, from 1 (multi-frame images)", ge=1)] = 1,
        window_center: Annotated[
            float | None, Field(description="VOI window center (e.g. 40 for a CT soft-tissue window)")
        ] = None,
        window_width: Annotated[
            float | None, Field(description="VOI window width (e.g. 400); give both or neither", gt=0)
        ] = None,
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
            call.fields.update(keys={k: check_uid(k, v) for k, v in uids.items() if v}, frame=frame)
            if (window_center is None) != (window_width is None):
                raise InvalidQuery("window_center and window_width go together: give both, or neither")
            ds = await fetch_instance(
                services, call, session, sop_instance_uid, series_instance_uid, study_instance_uid
            )
            job = partial(
                render,
                ds,
                frame=frame,
                center=window_center,
                width=window_width,
                max_size=min(max_size, settings.render_max_size),
                max_pixels=settings.render_max_pixels,
            )
            rendered = await anyio.to_thread.run_sync(job, limiter=renders)
        summary = RenderSummary.model_validate(rendered.summary)
        text = json.dumps(summary.model_dump(mode="json"), separators=(",", ":"))
        image = ImageContent(
            type="image", data=base64.b64encode(rendered.png).decode(), mime_type="image/png"
        )
        return CallToolResult(
            content=[image, TextContent(type="text", text=text)],
            structured_content=summary.model_dump(mode="json"),
        )

    annotations = ToolAnnotations(read_only_hint=True, open_world_hint=True)
    server.add_tool(render_image, description=described(render_image), annotations=annotations)
