"""Small ASGI helpers the HTTP guards share: which paths are MCP's, who is asking, a JSON answer."""

from __future__ import annotations

import json
from typing import Any

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from starlette.types import Scope, Send

MCP_PATHS = ("/mcp", "/sse", "/messages")
# Where the parsed JSON body of an MCP POST is left for the guards behind `ReadBody`.
PAYLOAD_KEY = "dicom_mcp.payload"


def is_mcp_path(scope: Scope) -> bool:
    path: str = scope.get("path", "")
    return scope["type"] == "http" and any(path == p or path.startswith(p + "/") for p in MCP_PATHS)


def principal_of(scope: Scope) -> str | None:
    """The authenticated subject (or client id), None when unauthenticated."""
    user = scope.get("user")
    if isinstance(user, AuthenticatedUser):
        token = user.access_token
        return token.subject or token.client_id
    return None


def client_of(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def caller_key(scope: Scope) -> str:
    """Whom per-caller limits count: the principal, else the client address."""
    principal = principal_of(scope)
    return f"principal:{principal}" if principal else f"address:{client_of(scope)}"


def header(scope: Scope, name: bytes) -> str | None:
    """One request header's value (latin-1), or None."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


async def send_json(
    send: Send, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> None:
    payload = json.dumps(body).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


def jsonrpc_error(code: int, message: str, request_id: Any = None) -> dict[str, Any]:
    """A JSON-RPC 2.0 error object."""
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}
