"""Who may do what, decided in one place that the tools ask (today: who may move, and where to).

A caller's permissions are the scopes of its access token (an OAuth scope, or the API keys file's
third field). Without authentication (loopback only, or opened on purpose) the registered
destinations are the only limit.
"""

from __future__ import annotations

from collections.abc import Collection

from dicom_mcp.errors import MoveRefused
from dicom_mcp.model.target import Target
from dicom_mcp.pacs.nodes import NodeRegistry
from dicom_mcp.security.auth import MOVE_SCOPE


def move_destination(
    nodes: NodeRegistry, name: str, *, auth_enabled: bool, scopes: Collection[str] | None
) -> Target:
    """The registered destination `name`, if this caller may move studies there.

    Raises:
        MoveRefused: the caller lacks dicom:move, or `name` is not a registered destination.
    """
    if auth_enabled and (scopes is None or MOVE_SCOPE not in scopes):
        raise MoveRefused(f"moving studies needs the {MOVE_SCOPE} permission, which this caller lacks")
    if name not in nodes.move_destinations:
        marked = ", ".join(sorted(nodes.move_destinations)) or "none (moving is off)"
        raise MoveRefused(f"{name[:64]!r} is not a registered move destination; registered: {marked}")
    return nodes.targets[name]
