"""The C-FIND tools: query_patients, query_studies, query_series, query_instances."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import ToolAnnotations
from pydantic import Field

from dicom_mcp.dicom import hierarchy
from dicom_mcp.dicom.errors import InvalidQuery
from dicom_mcp.dicom.presets import Level
from dicom_mcp.dicom.queries import build_query
from dicom_mcp.services import Services
from dicom_mcp.tools.call import tool_call
from dicom_mcp.tools.models import QueryResult
from dicom_mcp.tools.params import Additional, Exclude, Limit, Preset, Session, described

READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=True)


def _text(description: str) -> Any:
    """Field metadata for an optional text matching value."""
    return Field(description=description, max_length=256)


def register_query_tools(server: MCPServer[Any], services: Services) -> None:
    """Add the four query tools to `server`."""
    settings = services.settings

    async def run(
        ctx: Context[Any, Any],
        tool: str,
        level: Level,
        matching: Mapping[str, tuple[str, str | None]],
        preset: str | None,
        additional: list[str] | None,
        exclude: list[str] | None,
        session: str | None,
        limit: int | None,
    ) -> QueryResult:
        async with tool_call(services, ctx, tool, "query", session) as call:
            call.fields.update(level=level.value, keys={k: v for k, (_, v) in matching.items() if v})
            wanted = limit or settings.default_limit
            if wanted > settings.max_limit:
                raise InvalidQuery(f"limit must be an integer between 1 and {settings.max_limit}")
            query = build_query(level, matching, preset, additional, exclude)
            target = await services.resolver.resolve(
                session, call.caller.principal, call.caller.connection_id
            )
            call.target(target)
            with services.metrics.timed(target, "c-find"):
                result = await hierarchy.find(services.client, target, query, wanted)
            call.fields.update(matches=len(result.matches), truncated=result.truncated)
        return QueryResult(
            level=level.value,
            node=target.name,
            called_ae_title=target.ae_title,
            count=len(result.matches),
            truncated=result.truncated,
            limit=wanted,
            matches=result.matches,
        )

    async def query_patients(
        ctx: Context[Any, Any],
        name_pattern: Annotated[
            str | None,
            _text(
                "Patient name, written FAMILY^GIVEN as DICOM stores it (John Smith is SMITH^JOHN); "
                "* and ? are wildcards, e.g. SMITH* or MÜLLER^J*; matching ignores case on most PACS"
            ),
        ] = None,
        patient_id: Annotated[str | None, _text("Patient ID")] = None,
        birth_date: Annotated[str | None, _text("Birth date YYYYMMDD, or a range YYYYMMDD-YYYYMMDD")] = None,
        attribute_preset: Preset = None,
        additional_attributes: Additional = None,
        exclude_attributes: Exclude = None,
        session: Session = None,
        limit: Limit = None,
    ) -> QueryResult:
        """Find patients by name pattern, ID or birth date."""
        matching = {
            "PatientName": ("name_pattern", name_pattern),
            "PatientID": ("patient_id", patient_id),
            "PatientBirthDate": ("birth_date", birth_date),
        }
        return await run(
            ctx,
            "query_patients",
            Level.PATIENT,
            matching,
            attribute_preset,
            additional_attributes,
            exclude_attributes,
            session,
            limit,
        )

    async def query_studies(
        ctx: Context[Any, Any],
        patient_id: Annotated[str | None, _text("Patient ID")] = None,
        study_date: Annotated[
            str | None, _text("Study date YYYYMMDD, or a range YYYYMMDD-YYYYMMDD, YYYYMMDD- or -YYYYMMDD")
        ] = None,
        modality_in_study: Annotated[str | None, _text("A modality present in the study, e.g. CT")] = None,
        study_description: Annotated[str | None, _text("Study description; * and ? are wildcards")] = None,
        accession_number: Annotated[str | None, _text("Accession number")] = None,
        study_instance_uid: Annotated[str | None, _text("Study Instance UID")] = None,
        attribute_preset: Preset = None,
        additional_attributes: Additional = None,
        exclude_attributes: Exclude = None,
        session: Session = None,
        limit: Limit = None,
    ) -> QueryResult:
        """Find studies by patient, date or range, modality, description, accession number or UID."""
        matching = {
            "PatientID": ("patient_id", patient_id),
            "StudyDate": ("study_date", study_date),
            "ModalitiesInStudy": ("modality_in_study", modality_in_study),
            "StudyDescription": ("study_description", study_description),
            "AccessionNumber": ("accession_number", accession_number),
            "StudyInstanceUID": ("study_instance_uid", study_instance_uid),
        }
        return await run(
            ctx,
            "query_studies",
            Level.STUDY,
            matching,
            attribute_preset,
            additional_attributes,
            exclude_attributes,
            session,
            limit,
        )

    async def query_series(
        ctx: Context[Any, Any],
        study_instance_uid: Annotated[
            str, Field(description="Study Instance UID (required)", max_length=256)
        ],
        modality: Annotated[str | None, _text("Modality, e.g. CT or MR")] = None,
        series_number: Annotated[str | None, _text("Series number")] = None,
        series_description: Annotated[str | None, _text("Series description; * and ? are wildcards")] = None,
        series_instance_uid: Annotated[str | None, _text("Series Instance UID")] = None,
        attribute_preset: Preset = None,
        additional_attributes: Additional = None,
        exclude_attributes: Exclude = None,
        session: Session = None,
        limit: Limit = None,
    ) -> QueryResult:
        """Find the series of one study, optionally by modality, number, description or UID."""
        matching = {
            "StudyInstanceUID": ("study_instance_uid", study_instance_uid),
            "Modality": ("modality", modality),
            "SeriesNumber": ("series_number", series_number),
            "SeriesDescription": ("series_description", series_description),
            "SeriesInstanceUID": ("series_instance_uid", series_instance_uid),
        }
        return await run(
            ctx,
            "query_series",
            Level.SERIES,
            matching,
            attribute_preset,
            additional_attributes,
            exclude_attributes,
            session,
            limit,
        )

    async def query_instances(
        ctx: Context[Any, Any],
        series_instance_uid: Annotated[
            str, Field(description="Series Instance UID (required)", max_length=256)
        ],
        instance_number: Annotated[str | None, _text("Instance number")] = None,
        sop_instance_uid: Annotated[str | None, _text("SOP Instance UID")] = None,
        attribute_preset: Preset = None,
        additional_attributes: Additional = None,
        exclude_attributes: Exclude = None,
        session: Session = None,
        limit: Limit = None,
    ) -> QueryResult:
        """Find the instances (images) of one series, optionally by number or SOP Instance UID."""
        matching = {
            "SeriesInstanceUID": ("series_instance_uid", series_instance_uid),
            "InstanceNumber": ("instance_number", instance_number),
            "SOPInstanceUID": ("sop_instance_uid", sop_instance_uid),
        }
        return await run(
            ctx,
            "query_instances",
            Level.INSTANCE,
            matching,
            attribute_preset,
            additional_attributes,
            exclude_attributes,
            session,
            limit,
        )

    for tool in (query_patients, query_studies, query_series, query_instances):
        server.add_tool(tool, description=described(tool), annotations=READ_ONLY)
