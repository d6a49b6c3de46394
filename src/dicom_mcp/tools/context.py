"""Who is calling and over which connection, read from the MCP request context."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.mcpserver import Context

ANONYMOUS = "anonymous"
STDIO_CONNECTION = "stdio"


@dataclass(frozen=True)
class Caller:
    """The principal behind a call and the connection it arrived on (None when stateless)."""

    principal: str
    connection_id: str | None
    client: str = "stdio"


def caller_of(ctx: Context[Any, Any]) -> Caller:
    """Identify the caller.

    The principal is the authenticated token's subject (or client id), else "anonymous".
    The connection is stdio's single client, an older client's `Mcp-Session-Id`, or a legacy
    SSE `session_id`; the SDK routes a request only to the session those name, so they are
    trustworthy here, and the principal check still applies on top.
    """
    return caller_from_request(ctx.request_context.request)


def caller_from_request(request: Any) -> Caller:
    """Identify the caller of a request (the HTTP request object, or None on stdio)."""
    token = get_access_token()
    principal = (token.subject or token.client_id) if token is not None else ANONYMOUS
    if request is None:
        return Caller(principal, STDIO_CONNECTION)
    address = getattr(getattr(request, "client", None), "host", None) or "unknown"
    headers = getattr(request, "headers", None) or {}
    session_id = headers.get("mcp-session-id")
    if session_id:
        return Caller(principal, f"http:{session_id}", address)
    query_params = getattr(request, "query_params", None) or {}
    sse_id = query_params.get("session_id")
    if sse_id:
        return Caller(principal, f"sse:{sse_id}", address)
    return Caller(principal, None, address)
