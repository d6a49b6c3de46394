"""The move tools: move_study and move_series (C-MOVE to a registered destination only).

A destination is a named node the operator marked `move_destination = true`; its AE title is the
move destination the PACS sends to. Any other name is refused before a socket opens. With
authentication on, the caller needs the `dicom:move` permission (an OAuth scope, or the API key's
third field). Pending C-MOVE responses become progress notifications when the client asks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import anyio.from_thread
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.mcpserver import Context, MCPServer
from mcp_types import ToolAnnotations
from pydantic import Field

from dicom_mcp.model.retrievals import Keys
from dicom_mcp.model.target import Target
from dicom_mcp.model.validation import check_uid
from dicom_mcp.pacs import locate
from dicom_mcp.security.permissions import move_destination
from dicom_mcp.services import Services
from dicom_mcp.tools.call import tool_call
from dicom_mcp.tools.models import MoveResult
from dicom_mcp.tools.params import Session, described

MOVES = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True
)


def _destination_field() -> Any:
    return Field(
        description="A destination node name (list_dicom_nodes shows which accept moves)", max_length=64
    )


def register_move_tools(server: MCPServer[Any], services: Services) -> None:
    """Add move_study and move_series to `server`."""

    def destination_of(name: str) -> Target:
        token = get_access_token()
        return move_destination(
            services.nodes,
            name,
            auth_enabled=services.settings.auth_enabled,
            scopes=None if token is None else token.scopes,
        )

    async def run(
        ctx: Context[Any, Any],
        tool: str,
        uids: Callable[[], Keys],
        destination: str,
        session: str | None,
    ) -> MoveResult:
        async with tool_call(services, ctx, tool, "move", session) as call:
            keys = uids()  # checked inside the call: a refusal is audited like any other
            to = destination_of(destination)
            call.fields.update(destination=destination, destination_ae_title=to.ae_title)
            target = await call.pacs()
            if keys.series and not keys.study:
                keys = Keys(await locate.study_of_series(services.client, target, keys.series), keys.series)
            call.fields.update(keys={"study_instance_uid": keys.study, "series_instance_uid": keys.series})

            def progress(done: int, total: int) -> None:
                anyio.from_thread.run(ctx.report_progress, float(done), float(total))

            with services.metrics.timed(target, "c-move"):
                moved = await services.client.move(target, keys, to.ae_title, progress)
            call.fields.update(completed=moved.completed, failed=moved.failed, warning=moved.warning)
        return MoveResult(
            destination=destination,
            completed=moved.completed,
            failed=moved.failed,
            warning=moved.warning,
            status=f"0x{moved.status:04X}",
        )

    async def move_study(
        ctx: Context[Any, Any],
        study_instance_uid: Annotated[
            str, Field(description="Study Instance UID (required)", min_length=1, max_length=64)
        ],
        destination: Annotated[str, _destination_field()],
        session: Session = None,
    ) -> MoveResult:
        """Send a whole study from the PACS to a registered destination (C-MOVE), e.g. a workstation or an
        AI pipeline; returns how many instances arrived and failed."""
        return await run(
            ctx,
            "move_study",
            lambda: Keys(check_uid("study_instance_uid", study_instance_uid)),
            destination,
            session,
        )

    async def move_series(
        ctx: Context[Any, Any],
        series_instance_uid: Annotated[
            str, Field(description="Series Instance UID (required)", min_length=1, max_length=64)
        ],
        destination: Annotated[str, _destination_field()],
        study_instance_uid: Annotated[
            str | None, Field(description="Its Study Instance UID, if known", min_length=1, max_length=64)
        ] = None,
        session: Session = None,
    ) -> MoveResult:
        """Send one series from the PACS to a registered destination (C-MOVE)."""

        def keys() -> Keys:
            study = (
                check_uid("study_instance_uid", study_instance_uid) if study_instance_uid is not None else ""
            )
            return Keys(study, check_uid("series_instance_uid", series_instance_uid))

        return await run(ctx, "move_series", keys, destination, session)

    for tool in (move_study, move_series):
        server.add_tool(tool, description=described(tool), annotations=MOVES)
