"""The study viewer, an MCP App: open_study_viewer for the model, two tools for the viewer alone.

open_study_viewer lists a study's series and is bound to `ui://dicom-mcp/viewer`, so a host with
the Apps extension shows the viewer next to its result; others get the text and structured result.
The viewer calls viewer_thumbnails and viewer_frames (visibility ["app"]: hosts hide them from the
model). Their pictures come from the display pipeline render_image uses and travel in `_meta`,
within a budget per result, because some hosts refuse results near 1 MB.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Annotated, Any, Final

from mcp.server.apps import Apps, client_supports_apps
from mcp.server.mcpserver import Context
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from dicom_mcp.errors import InvalidQuery, NothingFound
from dicom_mcp.model.validation import check_uid
from dicom_mcp.services import Services
from dicom_mcp.tools.call import tool_call
from dicom_mcp.tools.params import Session, WindowCenter, WindowWidth, described
from dicom_mcp.tools.viewer_pictures import PICTURE_BUDGET, RESULT_BUDGET, Pictures, Request
from dicom_mcp.viewer import study, viewer_html
from dicom_mcp.viewer.models import FramesResult, SeriesItem, StudyView, ThumbnailsResult
from dicom_mcp.viewer.results import images_meta, pack_frames, pack_thumbnails, series_stack, study_text

VIEWER_URI: Final = "ui://dicom-mcp/viewer"
READ_ONLY: Final = ToolAnnotations(read_only_hint=True, open_world_hint=True)
THUMBNAIL_SIZE: Final = 128
MAX_THUMBNAILS: Final = 24  # series per viewer_thumbnails call
MAX_FRAMES: Final = 10  # instances or frames per viewer_frames call
__all__ = ["PICTURE_BUDGET", "RESULT_BUDGET", "VIEWER_URI", "viewer_app"]

StudyUid = Annotated[
    str, Field(description="Study Instance UID of the study the viewer shows", min_length=1, max_length=64)
]
SeriesUid = Annotated[
    str, Field(description="Series Instance UID of one of its series", min_length=1, max_length=64)
]
SopUid = Annotated[
    str | None,
    Field(description="One instance of the series: step through its frames", min_length=1, max_length=64),
]


def _open_study_viewer(services: Services) -> Callable[..., Awaitable[CallToolResult]]:
    async def open_study_viewer(
        ctx: Context[Any, Any],
        study_instance_uid: Annotated[
            str, Field(description="Study Instance UID of the study (required)", min_length=1, max_length=64)
        ],
        session: Session = None,
    ) -> Annotated[CallToolResult, StudyView]:
        """Open a study in the image viewer: the user scrolls its series, changes the window and reads its
        reports there (in hosts that show MCP Apps). Returns a short summary and the list of series."""
        async with tool_call(services, ctx, "open_study_viewer", "query", session) as call:
            call.fields.update(
                keys={"study_instance_uid": check_uid("study_instance_uid", study_instance_uid)}
            )
            target = await call.pacs()
            with services.metrics.timed(target, "c-find"):
                entries, truncated = await study.series_of(services.client, target, study_instance_uid)
            call.fields.update(matches=len(entries), truncated=truncated)
        view = StudyView(
            study_instance_uid=study_instance_uid,
            node=target.name,
            series=[
                SeriesItem(
                    series_instance_uid=s.uid,
                    series_number=s.number,
                    modality=s.modality,
                    series_description=s.description,
                    instances=s.instances,
                    number_of_frames=s.frames,
                    kind=s.kind,
                )
                for s in entries
            ],
            truncated=truncated,
        )
        text = study_text(view, viewer_shown=client_supports_apps(ctx))
        return CallToolResult(
            content=[TextContent(type="text", text=text)], structured_content=view.model_dump(mode="json")
        )

    return open_study_viewer


def _viewer_thumbnails(services: Services, pictures: Pictures) -> Callable[..., Awaitable[CallToolResult]]:
    async def viewer_thumbnails(
        ctx: Context[Any, Any],
        study_instance_uid: StudyUid,
        series_instance_uids: Annotated[
            list[str] | None,
            Field(
                description="The image series to show (default: every image series of the study)",
                max_length=100,
            ),
        ] = None,
        session: Session = None,
    ) -> Annotated[CallToolResult, ThumbnailsResult]:
        """For the study viewer: a small picture of the middle instance of each image series (in `_meta`)."""
        async with tool_call(services, ctx, "viewer_thumbnails", "read", session) as call:
            check_uid("study_instance_uid", study_instance_uid)
            wanted = [check_uid("series_instance_uids", uid) for uid in series_instance_uids or []]
            call.fields.update(keys={"study_instance_uid": study_instance_uid})
            target = await call.pacs()
            with services.metrics.timed(target, "c-find"):
                entries, _ = await study.series_of(services.client, target, study_instance_uid)
            chosen = [s for s in entries if s.kind == "image" and (not wanted or s.uid in wanted)]
            later = [s.uid for s in chosen[MAX_THUMBNAILS:]]
            chosen = chosen[:MAX_THUMBNAILS]
            middles = []
            for series in chosen:
                listed = await study.instances_of(services.client, target, study_instance_uid, series.uid)
                middles.append((series, listed.entries[(len(listed.entries) - 1) // 2]))
            jobs = [
                partial(
                    pictures.show,
                    call,
                    Request((study_instance_uid, s.uid), s.modality, (None, None), THUMBNAIL_SIZE),
                    entry,
                )
                for s, entry in middles
            ]
            shown = await pictures.show_all(jobs)
            result, images = pack_thumbnails(
                study_instance_uid,
                list(zip([s for s, _ in middles], shown, strict=True)),
                later,
                RESULT_BUDGET,
            )
            call.fields.update(instances=len(result.thumbnails))
        text = f"{len(result.thumbnails)} thumbnails ({result.bytes} bytes) for the study viewer"
        return CallToolResult(
            content=[TextContent(type="text", text=text)],
            structured_content=result.model_dump(mode="json"),
            _meta=images_meta(images),
        )

    return viewer_thumbnails


def _viewer_frames(services: Services, pictures: Pictures) -> Callable[..., Awaitable[CallToolResult]]:
    async def viewer_frames(
        ctx: Context[Any, Any],
        study_instance_uid: StudyUid,
        series_instance_uid: SeriesUid,
        sop_instance_uid: SopUid = None,
        start: Annotated[int, Field(description="First position (instance, or frame), from 0", ge=0)] = 0,
        count: Annotated[int, Field(description="How many positions", ge=1, le=MAX_FRAMES)] = 5,
        window_center: WindowCenter = None,
        window_width: WindowWidth = None,
        max_size: Annotated[
            int, Field(description="Longest side, in pixels (never enlarged)", ge=16, le=1024)
        ] = 512,
        session: Session = None,
    ) -> Annotated[CallToolResult, FramesResult]:
        """For the study viewer: a window of a series' instances in instance-number order, or of the frames
        of one instance (sop_instance_uid, or a series of one instance), each rendered in the given window
        or its own (pictures in `_meta`)."""
        async with tool_call(services, ctx, "viewer_frames", "read", session) as call:
            uids = {"study_instance_uid": study_instance_uid, "series_instance_uid": series_instance_uid}
            if sop_instance_uid is not None:
                uids["sop_instance_uid"] = sop_instance_uid
            call.fields.update(keys={k: check_uid(k, v) for k, v in uids.items()}, start=start, count=count)
            if (window_center is None) != (window_width is None):
                raise InvalidQuery("window_center and window_width go together: give both, or neither")
            target = await call.pacs()
            with services.metrics.timed(target, "c-find"):
                listed = await study.instances_of(
                    services.client, target, study_instance_uid, series_instance_uid
                )
            one = _one_instance(listed, sop_instance_uid)
            window = [one] if one else listed.entries[start : start + count]
            if not window:
                raise InvalidQuery(
                    f"start must be below {len(listed.entries)}, the number of instances in the series"
                )
            modality = None
            if any(entry.sop_class is None for entry in window):
                modality = await study.modality_of(
                    services.client, target, study_instance_uid, series_instance_uid
                )
            request = Request(
                (study_instance_uid, series_instance_uid), modality, (window_center, window_width), max_size
            )
            if one is not None:
                shown, stack = await pictures.frames(call, request, one, start, count)
            else:
                jobs = [partial(pictures.show, call, request, entry) for entry in window]
                shown, stack = await pictures.show_all(jobs), series_stack(listed)
            result, images = pack_frames(uids, stack, start, shown, RESULT_BUDGET)
            shown_count = (
                {"instances": 1, "frames": len(result.frames)} if one else {"instances": len(result.frames)}
            )
            call.fields.update(shown_count)
        what = "frames of one instance" if one else "instances"
        text = f"{len(result.frames)} of {result.total} {what} ({result.bytes} bytes) for the study viewer"
        return CallToolResult(
            content=[TextContent(type="text", text=text)],
            structured_content=result.model_dump(mode="json"),
            _meta=images_meta(images),
        )

    return viewer_frames


def _one_instance(listed: study.Instances, sop_uid: str | None) -> study.InstanceEntry | None:
    """The instance whose frames are asked for: the one named, or a series' only instance.

    Raises:
        NothingFound: the series has no instance with that SOP Instance UID.
    """
    if sop_uid is None:
        return listed.entries[0] if len(listed.entries) == 1 else None
    for entry in listed.entries:
        if entry.uid == sop_uid:
            return entry
    raise NothingFound("the series has no instance with that SOP Instance UID")


def viewer_app(services: Services) -> Apps:
    """The Apps extension: the viewer resource and its three tools, bound to `services`."""
    apps = Apps()
    pictures = Pictures(services)
    opener = _open_study_viewer(services)
    apps.tool(resource_uri=VIEWER_URI, description=described(opener), annotations=READ_ONLY)(opener)
    for tool in (_viewer_thumbnails(services, pictures), _viewer_frames(services, pictures)):
        apps.tool(
            resource_uri=VIEWER_URI, visibility=["app"], description=described(tool), annotations=READ_ONLY
        )(tool)
    apps.add_html_resource(
        VIEWER_URI,
        viewer_html(),
        name="dicom-mcp study viewer",
        description="Thumbnails, a scrollable series with window presets, and the study's reports",
        prefers_border=True,
    )
    return apps
