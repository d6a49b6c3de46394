"""The reading tools: get_instance_metadata and read_report (C-FIND to locate, C-GET into memory)."""

from __future__ import annotations

from typing import Annotated, Any, Final

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import ToolAnnotations
from pydantic import Field
from pydicom.dataset import Dataset

from dicom_mcp.dicom import locate
from dicom_mcp.dicom.errors import NothingFound
from dicom_mcp.dicom.validation import check_uid
from dicom_mcp.reading.errors import ReportUnreadable
from dicom_mcp.reading.header import header
from dicom_mcp.reading.report import report
from dicom_mcp.services import Services
from dicom_mcp.tools.call import Call, tool_call
from dicom_mcp.tools.models import InstanceHeader, Report, ReportsResult
from dicom_mcp.tools.params import Session, described

READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=True)
MAX_REPORTS: Final = 20


def _uid(description: str) -> Any:
    return Field(description=description, max_length=64)


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
        replaced by a note of their size). The SOP Instance UID alone is enough; parent UIDs save lookups."""
        async with tool_call(services, ctx, "get_instance_metadata", "read", session) as call:
            uids = _checked(
                sop_instance_uid=sop_instance_uid,
                series_instance_uid=series_instance_uid,
                study_instance_uid=study_instance_uid,
            )
            call.fields.update(keys=uids)
            ds = await fetch_instance(
                services, call, session, sop_instance_uid, series_instance_uid, study_instance_uid
            )
        return InstanceHeader.model_validate(header(ds))

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
            target = await services.resolver.resolve(
                session, call.caller.principal, call.caller.connection_id
            )
            call.target(target)
            with services.metrics.timed(target, "c-get"):
                found = await locate.reports(services.client, target, study_instance_uid)
                if sop_instance_uid:
                    found = [r for r in found if r.keys.instance == sop_instance_uid]
                    if not found:
                        raise NothingFound("the study has no report with that SOP Instance UID")
                reports = [await _read(services, target, where) for where in found[:MAX_REPORTS]]
            call.fields.update(instances=len(reports))
        return ReportsResult(
            study_instance_uid=study_instance_uid, reports=[r for r in reports if r is not None]
        )

    async def _read(services: Services, target: Any, where: locate.Located) -> Report | None:
        datasets = await where.fetch(services.client, target, settings.max_retrieve_bytes)
        if not datasets:
            return None
        try:
            return Report.model_validate(report(datasets[0], settings.report_max_chars))
        except ReportUnreadable as exc:
            if where.sop_class is None:  # located by modality alone: not a report after all
                return None
            return Report(
                sop_instance_uid=where.keys.instance,
                series_instance_uid=where.keys.series,
                kind="unreadable",
                text=f"(this report could not be read: {exc})",
                truncated=False,
            )

    for tool in (get_instance_metadata, read_report):
        server.add_tool(tool, description=described(tool), annotations=READ_ONLY)


def _checked(**uids: str | None) -> dict[str, str]:
    """The UIDs given, each checked; the audit record names them."""
    return {name: check_uid(name, value) for name, value in uids.items() if value}


async def fetch_instance(
    services: Services,
    call: Call,
    session: str | None,
    sop_uid: str,
    series_uid: str | None,
    study_uid: str | None,
) -> Dataset:
    """Resolve the session's PACS, locate one instance by C-FIND and C-GET it into memory."""
    target = await services.resolver.resolve(session, call.caller.principal, call.caller.connection_id)
    call.target(target)
    with services.metrics.timed(target, "c-get"):
        where = await locate.instance(services.client, target, sop_uid, series_uid, study_uid)
        datasets = await where.fetch(services.client, target, services.settings.max_retrieve_bytes)
    call.fields.update(instances=1)
    return the_one(datasets, sop_uid)


def the_one(datasets: list[Dataset], sop_uid: str) -> Dataset:
    """The instance `sop_uid` among those a C-GET brought."""
    for ds in datasets:
        if str(ds.get("SOPInstanceUID", "")) == sop_uid:
            return ds
    raise NothingFound("the PACS sent no instance with that SOP Instance UID")
