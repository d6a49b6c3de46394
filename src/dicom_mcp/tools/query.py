"""The C-FIND tools: query_patients, query_studies, query_series, query_instances."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Final

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import ToolAnnotations
from pydantic import Field

from dicom_mcp.errors import InvalidQuery
from dicom_mcp.model.levels import TOOL, Level
from dicom_mcp.model.queries import build_query
from dicom_mcp.pacs import locate
from dicom_mcp.services import Services
from dicom_mcp.tools.call import tool_call
from dicom_mcp.tools.models import QueryResult
from dicom_mcp.tools.params import Additional, Exclude, Limit, Preset, Session, described

READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=True)
# Each tool's matching parameters and the DICOM keyword each one matches.
MATCHING: Final[Mapping[Level, Mapping[str, str]]] = {
    Level.PATIENT: {
        "name_pattern": "PatientName",
        "patient_id": "PatientID",
        "birth_date": "PatientBirthDate",
    },
    Level.STUDY: {
        "patient_id": "PatientID",
        "study_date": "StudyDate",
        "modality_in_study": "ModalitiesInStudy",
        "study_description": "StudyDescription",
        "accession_number": "AccessionNumber",
        "study_instance_uid": "StudyInstanceUID",
    },
    Level.SERIES: {
        "study_instance_uid": "StudyInstanceUID",
        "modality": "Modality",
        "series_number": "SeriesNumber",
        "series_description": "SeriesDescription",
        "series_instance_uid": "SeriesInstanceUID",
    },
    Level.INSTANCE: {
        "series_instance_uid": "SeriesInstanceUID",
        "instance_number": "InstanceNumber",
        "sop_instance_uid": "SOPInstanceUID",
    },
}


@dataclass(frozen=True)
class Options:
    """The arguments every query tool shares."""

    preset: str | None
    additional: list[str] | None
    exclude: list[str] | None
    session: str | None
    limit: int | None


def _text(description: str) -> Any:
    """Field metadata for an optional text matching value."""
    return Field(description=description, max_length=256)


def register_query_tools(server: MCPServer[Any], services: Services) -> None:
    """Add the four query tools to `server`."""
    settings = services.settings

    async def run(
        ctx: Context[Any, Any], level: Level, values: Mapping[str, str | None], options: Options
    ) -> QueryResult:
        matching = {MATCHING[level][param]: (param, value) for param, value in values.items()}
        async with tool_call(services, ctx, TOOL[level], "query", options.session) as call:
            call.fields.update(level=level.value, keys={k: v for k, (_, v) in matching.items() if v})
            wanted = options.limit or settings.default_limit
            if wanted > settings.max_limit:
                raise InvalidQuery(f"limit must be an integer between 1 and {settings.max_limit}")
            query = build_query(level, matching, options.preset, options.additional, options.exclude)
            target = await call.pacs()
            with services.metrics.timed(target, "c-find"):
                result = await locate.find(services.client, target, query, wanted)
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
        """Find patients by name pattern, patient ID or birth date. Start here when you know a person;
        pass the PatientID you get to query_studies."""
        values = {"name_pattern": name_pattern, "patient_id": patient_id, "birth_date": birth_date}
        options = Options(attribute_preset, additional_attributes, exclude_attributes, session, limit)
        return await run(ctx, Level.PATIENT, values, options)

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
        """Find studies by patient ID, date or range, modality, description, accession number or UID.

        There is no name filter: find the patient with query_patients first, then pass its patient_id.
        """
        values = {
            "patient_id": patient_id,
            "study_date": study_date,
            "modality_in_study": modality_in_study,
            "study_description": study_description,
            "accession_number": accession_number,
            "study_instance_uid": study_instance_uid,
        }
        options = Options(attribute_preset, additional_attributes, exclude_attributes, session, limit)
        return await run(ctx, Level.STUDY, values, options)

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
        """Find the series of one study (its StudyInstanceUID comes from query_studies), optionally by
        modality, number, description or UID."""
        values = {
            "study_instance_uid": study_instance_uid,
            "modality": modality,
            "series_number": series_number,
            "series_description": series_description,
            "series_instance_uid": series_instance_uid,
        }
        options = Options(attribute_preset, additional_attributes, exclude_attributes, session, limit)
        return await run(ctx, Level.SERIES, values, options)

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
        """Find the instances (images) of one series (its SeriesInstanceUID comes from query_series),
        optionally by number or SOP Instance UID."""
        values = {
            "series_instance_uid": series_instance_uid,
            "instance_number": instance_number,
            "sop_instance_uid": sop_instance_uid,
        }
        options = Options(attribute_preset, additional_attributes, exclude_attributes, session, limit)
        return await run(ctx, Level.INSTANCE, values, options)

    for tool in (query_patients, query_studies, query_series, query_instances):
        server.add_tool(tool, description=described(tool), annotations=READ_ONLY)
