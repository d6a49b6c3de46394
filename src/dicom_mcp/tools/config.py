"""Tools that choose and check the PACS: configure_dicom_server, verify_connection, presets."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import ToolAnnotations
from pydantic import Field

from dicom_mcp.errors import PacsError, TargetRefused
from dicom_mcp.model.presets import DEFAULT_PRESET, PRESETS
from dicom_mcp.model.target import Target
from dicom_mcp.services import Services
from dicom_mcp.state.sessions.resolver import handle_digest
from dicom_mcp.tools import addresses
from dicom_mcp.tools.call import tool_call
from dicom_mcp.tools.models import ConfigureResult, EchoResult, PresetsResult
from dicom_mcp.tools.params import Session, described


def register_config_tools(server: MCPServer[Any], services: Services) -> None:
    """Add the configuration tools to `server`."""

    async def configure_dicom_server(
        ctx: Context[Any, Any],
        host: Annotated[str | None, Field(description="PACS host name or IP address", max_length=253)] = None,
        port: Annotated[int | None, Field(description="PACS DICOM port")] = None,
        ae_title: Annotated[
            str | None,
            Field(
                description="The PACS's own (called) AE title; defaults to the server's setting",
                max_length=64,
            ),
        ] = None,
        node: Annotated[
            str | None,
            Field(description="A node name from list_dicom_nodes, instead of host and port", max_length=64),
        ] = None,
    ) -> ConfigureResult:
        """Point this session at another PACS and return a session handle for later calls.

        Not needed for the default PACS: every tool works without it. Give either `node` (see
        list_dicom_nodes) or `host` and `port`; an ad-hoc host must be allowed by the operator.
        Pass the returned handle as `session` to the other tools. The calling AE title is always
        the server's own.
        """
        async with tool_call(services, ctx, "configure_dicom_server", "configure") as call:
            target = await _choose(services, host, port, ae_title, node)
            call.target(target)
            handle = await services.resolver.configure(
                target, call.caller.principal, call.caller.connection_id
            )
            call.fields["new_session"] = handle_digest(handle)
        host, port = addresses.address(services.settings, target)
        return ConfigureResult(
            session=handle,
            host=host,
            port=port,
            ae_title=target.ae_title,
            node=target.name,
            expires_after_idle_seconds=int(services.settings.session_ttl),
            message=f"Configured {addresses.describe(services.settings, target)}. "
            f"Pass session={handle!r} to later DICOM tool calls.",
        )

    async def verify_connection(ctx: Context[Any, Any], session: Session = None) -> EchoResult:
        """Check that the session's PACS answers a DICOM C-ECHO (a small QIDO-RS search on a DICOMweb node)."""
        async with tool_call(services, ctx, "verify_connection", "echo", session) as call:
            target = await call.pacs()
            check = "a QIDO-RS search" if target.web is not None else "C-ECHO"
            try:
                with services.metrics.timed(target, "c-echo"):
                    millis = await services.client.echo(target)
            except PacsError as exc:
                call.fields["echo"] = type(exc).__name__
                return _echo_result(services, target, None, f"{check} failed: {exc}")
        return _echo_result(
            services, target, millis, f"{addresses.describe(services.settings, target)} answered {check}"
        )

    def get_attribute_presets() -> PresetsResult:
        """List the attribute presets each query tool accepts, with the DICOM keywords they return."""
        presets = {
            level.value: {name: list(keys) for name, keys in table.items()}
            for level, table in PRESETS.items()
        }
        return PresetsResult(default=DEFAULT_PRESET, presets=presets)

    server.add_tool(configure_dicom_server, description=described(configure_dicom_server))
    server.add_tool(
        verify_connection,
        description=described(verify_connection),
        annotations=ToolAnnotations(read_only_hint=True, open_world_hint=True),
    )
    server.add_tool(
        get_attribute_presets,
        description=described(get_attribute_presets),
        annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False),
    )


async def _choose(
    services: Services, host: str | None, port: int | None, ae_title: str | None, node: str | None
) -> Target:
    if node is not None:
        if host is not None or port is not None:
            raise TargetRefused("give either node, or host and port, not both")
        return services.policy.node(node)
    if host is None or port is None:
        raise TargetRefused("give host and port (or a node name from list_dicom_nodes)")
    called = ae_title if ae_title is not None else services.settings.dicom_called_ae_title
    return await services.policy.admit(host, port, called)


def _echo_result(services: Services, target: Target, millis: float | None, message: str) -> EchoResult:
    host, port = addresses.address(services.settings, target)
    return EchoResult(
        success=millis is not None,
        host=host,
        port=port,
        ae_title=target.ae_title,
        node=target.name,
        round_trip_ms=None if millis is None else round(millis, 1),
        message=message,
    )
