"""OAuth protected resource metadata (RFC 9728): where clients learn how to get a token for /mcp."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from dicom_mcp.security.auth import MOVE_SCOPE, READ_SCOPE
from dicom_mcp.settings import Settings

METADATA_PATH = "/.well-known/oauth-protected-resource"


def metadata_url(settings: Settings) -> str:
    """Where RFC 9728 metadata for the MCP resource lives (path-suffixed form of RFC 9728 §3.1)."""
    resource = settings.resource_url
    scheme, _, rest = resource.partition("://")
    host, _, path = rest.partition("/")
    return f"{scheme}://{host}{METADATA_PATH}/{path}"


def metadata_routes(settings: Settings) -> list[Route]:
    """The protected resource metadata document (RFC 9728), served whenever auth is on."""
    if not settings.auth_enabled:
        return []
    document: dict[str, Any] = {
        "resource": settings.resource_url,
        "scopes_supported": [READ_SCOPE, MOVE_SCOPE],
        "bearer_methods_supported": ["header"],
        "resource_name": "dicom-mcp",
    }
    if settings.oauth_issuer:
        document["authorization_servers"] = [settings.oauth_issuer]

    async def metadata(request: Request) -> JSONResponse:
        return JSONResponse(document, headers={"Cache-Control": "public, max-age=3600"})

    suffix = settings.resource_url.split("://", 1)[1].partition("/")[2]
    return [
        Route(f"{METADATA_PATH}/{suffix}", metadata, methods=["GET"]),
        Route(METADATA_PATH, metadata, methods=["GET"]),
    ]
