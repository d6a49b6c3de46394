"""What callers may see of a PACS's address: named nodes (the default one too) keep theirs to
themselves unless the operator sets DICOM_MCP_EXPOSE_NODE_HOSTS; an ad-hoc target's address is
the caller's own input and is shown."""

from __future__ import annotations

from dicom_mcp.model.target import Target
from dicom_mcp.settings import Settings


def hidden(settings: Settings, target: Target) -> bool:
    return target.name is not None and not settings.expose_node_hosts


def address(settings: Settings, target: Target) -> tuple[str | None, int | None]:
    """Host and port as callers may see them; (None, None) when hidden."""
    return (None, None) if hidden(settings, target) else (target.host, target.port)


def describe(settings: Settings, target: Target) -> str:
    """A target as callers may see it in a message."""
    return target.describe()  # a named node's address is never in it
