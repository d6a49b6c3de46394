"""MCP resources and prompts: reference data a client can show, and guided tasks that lead a model
through the tools. Nothing here talks to a PACS; the prompts only tell the model which tools to call."""

from __future__ import annotations

import json
from typing import Any

from mcp.server.mcpserver import MCPServer

from dicom_mcp.model.presets import DEFAULT_PRESET, PRESETS
from dicom_mcp.services import Services
from dicom_mcp.tools import addresses

PRESETS_URI = "dicom://presets"
NODES_URI = "dicom://nodes"


def register_guides(server: MCPServer[Any], services: Services) -> None:
    """Add the resources (presets, named nodes) and prompts to `server`."""

    @server.resource(
        PRESETS_URI,
        name="attribute presets",
        mime_type="application/json",
        description="The DICOM keywords each query level returns at each level of detail",
    )
    def presets() -> str:
        table = {
            level.value: {name: list(keys) for name, keys in by_name.items()}
            for level, by_name in PRESETS.items()
        }
        return json.dumps({"default": DEFAULT_PRESET, "presets": table}, separators=(",", ":"))

    @server.resource(
        NODES_URI,
        name="named PACS nodes",
        mime_type="application/json",
        description="The PACS the operator has named (hosts hidden unless the operator exposes them)",
    )
    def nodes() -> str:
        listed = [("default", services.resolver.default_target, "The default PACS")]
        listed += [
            (name, target, services.nodes.descriptions.get(name, ""))
            for name, target in services.nodes.targets.items()
        ]
        rows = []
        for name, target, description in listed:
            host, port = addresses.address(services.settings, target)
            rows.append(
                {
                    "name": name,
                    "description": description,
                    "ae_title": target.ae_title,
                    "host": host,
                    "port": port,
                    "move_destination": name in services.nodes.move_destinations,
                    "protocol": target.protocol,
                }
            )
        return json.dumps({"nodes": rows}, separators=(",", ":"))

    @server.prompt(title="Summarise a patient's imaging history")
    def imaging_history(patient: str) -> str:
        """Find a patient and summarise their studies, newest first, with what each report says."""
        return (
            f"Summarise the imaging history of the patient {patient!r}.\n"
            "1. Find the patient with query_patients: by patient_id if that looks like an ID, else by "
            "name_pattern (DICOM names are FAMILY^GIVEN, e.g. SMITH^JOHN; use * as a wildcard).\n"
            "2. If several patients match, list them and ask which one is meant.\n"
            "3. List their studies with query_studies(patient_id=...), newest first.\n"
            "4. For each study, call read_report(study_instance_uid=...) and note its findings.\n"
            "5. Answer with a dated list: modality, description, and the report's conclusion in one line."
        )

    @server.prompt(title="Read the latest report of a study")
    def latest_report(study_instance_uid: str) -> str:
        """Read a study's reports and say what the most recent one concludes."""
        return (
            f"Read the reports of the study {study_instance_uid}.\n"
            "1. Call read_report(study_instance_uid=...). An empty list means the study has no report "
            "on this PACS: say so.\n"
            "2. Take the report with the latest content_date; say whether it is verified "
            "(verification_flag) and complete (completion_flag), and by whom.\n"
            "3. Quote its findings and impression faithfully; do not add findings of your own."
        )
