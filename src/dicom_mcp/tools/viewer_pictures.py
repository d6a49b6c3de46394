"""Pictures for the viewer's tools: instances of a series, or a window of one instance's frames.

Each instance is retrieved once per call and rendered in the sandbox: a series window one
instance after the other, a frame window in one job over the one parsed instance, so a window
of frames of a 200-frame instance costs one C-GET (or one WADO-RS retrieval), not one per frame.
Every picture is within PICTURE_BUDGET and a window within RESULT_BUDGET (base64 characters).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from dicom_mcp.errors import InvalidQuery
from dicom_mcp.model.retrievals import Keys
from dicom_mcp.model.sopclasses import likely
from dicom_mcp.pacs.locate import Located
from dicom_mcp.reading.pictures import Picture
from dicom_mcp.sandbox.client import Made
from dicom_mcp.services import Services
from dicom_mcp.tools.call import Call
from dicom_mcp.tools.errors import ITEM_FAILURES, item_reason
from dicom_mcp.tools.reading import expected, fetched
from dicom_mcp.viewer.results import Shown, Stack
from dicom_mcp.viewer.study import InstanceEntry

# Base64 characters of pictures in one result, and in one picture: well under the 1 MB some hosts
# accept for a whole result (base64 is 4/3 of the bytes; the JSON around it is a few kB).
RESULT_BUDGET: Final = 600_000
PICTURE_BUDGET: Final = 300_000


@dataclass(frozen=True)
class Request:
    """What every picture of one call shares: where its series is, the window, the size."""

    keys: tuple[str, str]  # study and series UIDs
    modality: str | None  # to guess storage classes the PACS will not say
    window: tuple[float | None, float | None]
    max_size: int


class Pictures:
    """Fetch and render instances for the viewer, one at a time.

    One at a time: a call then holds one instance in memory, and its pixel budget (the most
    pixels one render may decode, DICOM_MCP_RENDER_MAX_PIXELS) is spent in a known order.
    """

    def __init__(self, services: Services) -> None:
        self._services = services

    async def show(self, call: Call, request: Request, entry: InstanceEntry) -> Shown:
        """Retrieve one instance and render its first frame; a failure of this one becomes its reason."""
        if (spent := self._spent(call)) is not None:
            return Shown(entry, reason=spent)
        try:
            made = await self._render(call, request, entry, {"pixels_left": self._left(call)})
        except ITEM_FAILURES as exc:
            return Shown(entry, reason=item_reason(exc))
        summary = made.result["summary"]
        call.pixels += int(summary["rows"]) * int(summary["columns"])
        return Shown(entry, Picture(made.payload, str(made.result["mime_type"]), summary))

    async def frames(
        self, call: Call, request: Request, entry: InstanceEntry, start: int, count: int
    ) -> tuple[list[Shown], Stack]:
        """Retrieve one instance once and render its frames from position `start` (from 0).

        Raises:
            InvalidQuery: `start` is past the instance's last frame.
        """
        failed = Stack("frames", max(entry.frames or 1, start + 1), sop_instance_uid=entry.uid)
        if (spent := self._spent(call)) is not None:
            return [Shown(entry, reason=spent)], failed
        options = {
            "frames": list(range(start + 1, start + count + 1)),
            "pixels_left": self._left(call),
            "max_total": RESULT_BUDGET * 3 // 4,
        }
        try:
            made = await self._render(call, request, entry, options)
        except ITEM_FAILURES as exc:
            return [Shown(entry, reason=item_reason(exc))], failed
        total = int(made.result["number_of_frames"])
        if start >= total:
            raise InvalidQuery(f"start must be below {total}, the number of frames in the instance")
        shown, at = [], 0
        for item in made.result["frames"]:
            if item.get("summary") is None:
                shown.append(Shown(entry, reason=str(item.get("reason") or "no picture")))
                continue
            data, at = made.payload[at : at + int(item["bytes"])], at + int(item["bytes"])
            summary = item["summary"]
            call.pixels += int(summary["rows"]) * int(summary["columns"])
            picture = Picture(data, str(item["mime_type"]), summary)
            shown.append(Shown(entry, picture, frame_time_ms=item.get("frame_time_ms")))
        return shown, Stack("frames", total, sop_instance_uid=entry.uid, timing=made.result.get("timing"))

    async def show_all(self, jobs: Sequence[Callable[[], Awaitable[Shown]]]) -> list[Shown]:
        """Run `jobs` in their order, one after the other."""
        return [await job() for job in jobs]

    async def _render(
        self, call: Call, request: Request, entry: InstanceEntry, options: dict[str, Any]
    ) -> Made:
        """One retrieval of `entry` and one sandbox job over it ("picture", with `options`)."""
        services, settings = self._services, self._services.settings
        keys = Keys(request.keys[0], request.keys[1], entry.uid)
        where = Located(keys, likely(entry.sop_class, request.modality), entry.sop_class)
        wanted = tuple(options.get("frames") or (1,))  # an instance past the byte cap: just these
        async with fetched(services, call, call.node, where, frames=wanted) as instances:
            return await services.sandbox.picture(
                instances,
                expected(where),
                center=request.window[0],
                width=request.window[1],
                max_size=min(request.max_size, settings.render_max_size),
                max_pixels=settings.render_max_pixels,
                max_bytes=PICTURE_BUDGET * 3 // 4,
                **options,
            )

    def _left(self, call: Call) -> int:
        return self._services.settings.render_max_pixels - call.pixels

    def _spent(self, call: Call) -> str | None:
        if self._left(call) > 0:
            return None
        return (
            f"this call's budget of {self._services.settings.render_max_pixels} decoded pixels "
            "(DICOM_MCP_RENDER_MAX_PIXELS) is spent: ask for fewer frames at once"
        )
