"""Tools that choose and check the PACS: configure_dicom_server, verify_connection, presets."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import ToolAnnotations
from pydantic import Field

from dicom_mcp.dicom.errors import PacsError
from dicom_mcp.dicom.presets import DEFAULT_PRESET, PRESETS
from dicom_mcp.dicom.target import Target
from dicom_mcp.services import Services
from dicom_mcp.tools.context import caller_of
from dicom_mcp.tools.errors import tool_errors
from dicom_mcp.tools.models import ConfigureResult, EchoResult, PresetsResult
from dicom_mcp.tools.params import Session


def register_config_tools(server: MCPServer[Any], services: Services) -> None:
    """Add the configuration tools to `server`."""

    async def configure_dicom_server(
        ctx: Context[Any, Any],
        host: Annotated[str, Field(description="PACS host name or IP address", min_length=1, max_length=253)],
        port: Annotated[int, Field(description="PACS DICOM port")],
        ae_title: Annotated[
            str | None,
            Field(
                description="The PACS's own (called) AE title; defaults to the server's setting",
                max_length=64,
            ),
        ] = None,
    ) -> ConfigureResult:
        """Point this session at another PACS and return a session handle for later calls.

        The target must be the default PACS or admitted by the operator's allowlist; the
        calling AE title is always the server's own.
        """
        with tool_errors("configure_dicom_server"):
            caller = caller_of(ctx)
            called = ae_title if ae_title is not None else services.settings.dicom_called_ae_title
            target = await services.policy.admit(host, port, called)
            handle = await services.resolver.configure(target, caller.principal, caller.connection_id)
        return ConfigureResult(
            session=handle,
            host=target.host,
            port=target.port,
            ae_title=target.ae_title,
            expires_after_idle_seconds=int(services.settings.session_ttl),
            message=f"Configured {target.describe()}. Pass session={handle!r} to later DICOM tool calls.",
        )

    async def verify_connection(ctx: Context[Any, Any], session: Session = None) -> EchoResult:
        """Check that the session's PACS answers a DICOM C-ECHO."""
        with tool_errors("verify_connection"):
            caller = caller_of(ctx)
            target = await services.resolver.resolve(session, caller.principal, caller.connection_id)
            try:
                millis = await services.client.echo(target)
            except PacsError as exc:
                return _echo_result(target, None, f"C-ECHO failed: {exc}")
        return _echo_result(target, millis, f"{target.describe()} answered C-ECHO")

    def get_attribute_presets() -> PresetsResult:
        """List the attribute presets each query tool accepts, with the DICOM keywords they return."""
        presets = {
            level.value: {name: list(keys) for name, keys in table.items()}
            for level, table in PRESETS.items()
        }
        return PresetsResult(default=DEFAULT_PRESET, presets=presets)

    server.add_tool(configure_dicom_server)
    server.add_tool(verify_connection, annotations=ToolAnnotations(read_only_hint=True, open_world_hint=True))
    server.add_tool(
        get_attribute_presets, annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False)
    )


def _echo_result(target: Target, millis: float | None, message: str) -> EchoResult:
    return EchoResult(
        success=millis is not None,
        host=target.host,
        port=target.port,
        ae_title=target.ae_title,
        round_trip_ms=None if millis is None else round(millis, 1),
        message=message,
    )
