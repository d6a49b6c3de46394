"""build_server(): the MCPServer with every dicom-mcp tool registered."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer

from dicom_mcp import __version__
from dicom_mcp.logs import install_redaction
from dicom_mcp.services import Services
from dicom_mcp.tools.config import register_config_tools
from dicom_mcp.tools.contract import ToolContract
from dicom_mcp.tools.guides import register_guides
from dicom_mcp.tools.images import register_image_tools
from dicom_mcp.tools.move import register_move_tools
from dicom_mcp.tools.nodes import register_node_tools
from dicom_mcp.tools.query import register_query_tools
from dicom_mcp.tools.reading import register_reading_tools
from dicom_mcp.tools.view import ViewBoundary
from dicom_mcp.tools.viewer import viewer_app

INSTRUCTIONS = """\
Query a hospital PACS (DICOM C-FIND) for patients, studies, series and instances, and read them.
Start with query_patients or query_studies; drill down with query_series (needs a
StudyInstanceUID) and query_instances (needs a SeriesInstanceUID). read_report gives a study's
reports as text; get_instance_metadata one instance's header. move_study and move_series send
data to a destination the operator registered. To use another PACS, call configure_dicom_server
and pass the returned `session` to later calls."""


def build_server(services: Services) -> MCPServer[Any]:
    """A new MCPServer whose tools use `services`."""
    install_redaction()
    server: MCPServer[Any] = MCPServer(
        "dicom-mcp",
        version=__version__,
        instructions=INSTRUCTIONS,
        log_level=services.settings.log_level,
        extensions=[viewer_app(services)],
    )
    register_config_tools(server, services)
    register_query_tools(server, services)
    register_node_tools(server, services)
    register_reading_tools(server, services)
    register_image_tools(server, services)
    register_move_tools(server, services)
    register_guides(server, services)
    server.middleware.append(ToolContract(server, services))
    server.middleware.append(ViewBoundary(services))  # inside the contract: it sees checked arguments
    return server
