"""The reading tools: get_instance_metadata and read_report (C-FIND to locate, C-GET into memory)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Final

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import ToolAnnotations
from pydantic import Field

from dicom_mcp.errors import NothingFound, RetrieveTooLarge
from dicom_mcp.model.instances import Instance
from dicom_mcp.model.target import Target
from dicom_mcp.model.validation import check_uid
from dicom_mcp.pacs import locate
from dicom_mcp.reading.partial import without_pixels
from dicom_mcp.sandbox import Expected
from dicom_mcp.services import Services
from dicom_mcp.tools.call import Call, tool_call
from dicom_mcp.tools.errors import ITEM_FAILURES, item_reason
from dicom_mcp.tools.models import InstanceHeader, Report, ReportsResult
from dicom_mcp.tools.params import Session, described

READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=True)
MAX_REPORTS: Final = 20


def _uid(description: str) -> Any:
    return Field(description=description, min_length=1, max_length=64)


def register_reading_tools(server: MCPServer[Any], services: Services) -> None:
    """Add get_instance_metadata and read_report to `server`."""
    settings = services.settings

    async def get_instance_metadata(
        ctx: Context[Any, Any],
        sop_instance_uid: Annotated[str, _uid("SOP Instance UID of the instance (required)")],
        series_instance_uid: Annotated[str | None, _uid("Its Series Instance UID, if known")] = None,
        study_instance_uid: Annotated[str | None, _uid("Its Study Instance UID, if known")] = None,
        session: Session = None,
    ) -> InstanceHeader:
        """Read one instance's DICOM header (retrieved with C-GET; pixel data and other bulk data are
        replaced by a note of their size; an instance of any size is read up to its pixel data).
        The SOP Instance UID alone is enough; parent UIDs save lookups."""
        async with tool_call(services, ctx, "get_instance_metadata", "read", session) as call:
            uids = _checked(
                sop_instance_uid=sop_instance_uid,
                series_instance_uid=series_instance_uid,
                study_instance_uid=study_instance_uid,
            )
            call.fields.update(keys=uids)
            where = await locate_instance(
                services, call, sop_instance_uid, series_instance_uid, study_instance_uid
            )
            async with fetched(services, call, call.node, where, header_only=True) as instances:
                made = await services.sandbox.header(instances, expected(where))
            left = next((i.pixels_left for i in instances if i.pixels_left is not None), None)
            if left is not None and left.sop == made.get("sop_instance_uid"):
                call.fields["pixel_data"] = f"not retrieved: {left.how}"
                made = without_pixels(made, left)
        return InstanceHeader.model_validate(made)

    async def read_report(
        ctx: Context[Any, Any],
        study_instance_uid: Annotated[str, _uid("Study Instance UID of the study (required)")],
        sop_instance_uid: Annotated[
            str | None, _uid("One report's SOP Instance UID, to read only that one")
        ] = None,
        session: Session = None,
    ) -> ReportsResult:
        """Read a study's reports as text: structured reports (SR, as an indented outline), encapsulated
        PDF and CDA documents. An empty list means the study has no report on this PACS."""
        async with tool_call(services, ctx, "read_report", "read", session) as call:
            call.fields.update(
                keys=_checked(study_instance_uid=study_instance_uid, sop_instance_uid=sop_instance_uid)
            )
            target = await call.pacs()
            with services.metrics.timed(target, "c-get"):
                found = await locate.reports(services.client, target, study_instance_uid)
                if sop_instance_uid:
                    found = [r for r in found if r.keys.instance == sop_instance_uid]
                    if not found:
                        raise NothingFound("the study has no report with that SOP Instance UID")
                reports = [await _read(services, call, target, where) for where in found[:MAX_REPORTS]]
            call.fields.update(instances=len(reports))
        return ReportsResult(
            study_instance_uid=study_instance_uid, reports=[r for r in reports if r is not None]
        )

    async def _read(services: Services, call: Call, target: Any, where: locate.Located) -> Report | None:
        """One located report, read in the sandbox; one that cannot be read says why, alone."""
        try:
            async with fetched(services, call, target, where) as instances:
                if not instances:
                    return None
                made = await services.sandbox.report(instances, expected(where), settings.report_max_chars)
            return Report.model_validate(made)
        except ITEM_FAILURES as exc:
            if where.sop_class is None and not isinstance(exc, RetrieveTooLarge):
                return None  # located by modality alone: not a report after all
            return Report(
                sop_instance_uid=where.keys.instance,
                series_instance_uid=where.keys.series,
                kind="unreadable",
                text=f"(this report could not be read: {item_reason(exc)})",
                truncated=False,
            )

    for tool in (get_instance_metadata, read_report):
        server.add_tool(tool, description=described(tool), annotations=READ_ONLY)


def _checked(**uids: str | None) -> dict[str, str]:
    """The UIDs given, each checked; the audit record names them."""
    return {name: check_uid(name, value) for name, value in uids.items() if value is not None}


async def locate_instance(
    services: Services,
    call: Call,
    sop_uid: str,
    series_uid: str | None,
    study_uid: str | None,
) -> locate.Located:
    """Locate one instance on the call's PACS by C-FIND."""
    target = await call.pacs()
    with services.metrics.timed(target, "c-find"):
        return await locate.instance(services.client, target, sop_uid, series_uid, study_uid)


@asynccontextmanager
async def fetched(
    services: Services,
    call: Call,
    target: Target | None,
    where: locate.Located,
    header_only: bool = False,
    frames: tuple[int, ...] | None = None,
) -> AsyncIterator[list[Instance]]:
    """The located instance(s), retrieved into memory within the call's budget, for the block only
    (with `header_only`, one too large for it without its pixel data; with `frames`, with only
    those frames: `Backend.get`; the audit record then says how it was read)."""
    if target is None:
        raise AssertionError("fetched() before the call's target was resolved")
    with services.metrics.timed(target, "c-get"):
        instances = await where.fetch(services.client, target, call.budget, header_only, frames)
    call.fields["instances"] = call.fields.get("instances", 0) + len(instances)
    for kept in (i.frames_kept for i in instances if i.frames_kept is not None):
        numbers = ", ".join(str(frame) for frame in kept.frames)
        call.fields["pixel_data"] = f"frames {numbers} of {kept.total}: {kept.how}"
    try:
        yield instances
    finally:
        call.budget.give(sum(len(instance) for instance in instances))


def expected(where: locate.Located) -> Expected:
    """What the sandbox must find among the instances the PACS sent: this one, where it was located."""
    return Expected(where.keys.instance or "", where.keys.study, where.keys.series)
