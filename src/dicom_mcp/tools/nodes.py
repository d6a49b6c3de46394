"""list_dicom_nodes: the PACS a caller may pick by name."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp_types import ToolAnnotations

from dicom_mcp.model.target import Target
from dicom_mcp.services import Services
from dicom_mcp.tools.addresses import address
from dicom_mcp.tools.models import NodeInfo, NodesResult
from dicom_mcp.tools.params import described


def register_node_tools(server: MCPServer[Any], services: Services) -> None:
    """Add list_dicom_nodes to `server`."""

    def info(name: str, target: Target, description: str) -> NodeInfo:
        host, port = address(services.settings, target)
        return NodeInfo(
            name=name,
            description=description,
            ae_title=target.ae_title,
            host=host,
            port=port,
            tls=target.tls is not None,
            move_destination=name in services.nodes.move_destinations,
            protocol=target.protocol,
        )

    def list_dicom_nodes() -> NodesResult:
        """List the PACS nodes the operator has named; pass a name to configure_dicom_server(node=...)."""
        default = services.resolver.default_target
        nodes = [info("default", default, "The default PACS")]
        nodes += [
            info(name, t, services.nodes.descriptions.get(name, ""))
            for name, t in services.nodes.targets.items()
        ]
        return NodesResult(
            default="default", nodes=nodes, ad_hoc_targets_allowed=bool(services.settings.allowed_targets)
        )

    server.add_tool(
        list_dicom_nodes,
        description=described(list_dicom_nodes),
        annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False),
    )
