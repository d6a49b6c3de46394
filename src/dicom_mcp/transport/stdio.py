"""The stdio transport: one client (the desktop app that started us) per process."""

from __future__ import annotations

import logging

from dicom_mcp.pacs.nodes import NodeRegistry
from dicom_mcp.services import build_services
from dicom_mcp.settings import Settings
from dicom_mcp.transport.server import build_server
from dicom_mcp.transport.startup import summary

logger = logging.getLogger(__name__)


async def serve_stdio(settings: Settings, extra_nodes: NodeRegistry | None = None) -> None:
    """Serve the tools on stdin/stdout until the client closes them; `extra_nodes` join the nodes file's."""
    services = build_services(settings, stdout_is_protocol=True, extra_nodes=extra_nodes)
    logger.info("%s", summary(settings, "stdio"))
    try:
        await build_server(services).run_stdio_async()
    finally:
        await services.aclose()
