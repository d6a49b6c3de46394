"""HTTP guards in front of the MCP endpoints: authentication, loopback-only mode, rate limits, draining.

Only the MCP paths (`/mcp`, `/sse`, `/messages/`) are guarded; health, readiness, metrics and
the protected resource metadata stay open.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from mcp.server.auth.middleware.bearer_auth import RequireAuthMiddleware
from pydantic import AnyHttpUrl
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from dicom_mcp.activity import Activity
from dicom_mcp.security.asgi import PAYLOAD_KEY, client_of, is_mcp_path, principal_of, send_json
from dicom_mcp.security.auth import READ_SCOPE
from dicom_mcp.settings import Settings

METADATA_PATH = "/.well-known/oauth-protected-resource"


class RequireCaller:
    """Demand a valid bearer token (401/403 from the SDK), or, without auth, a loopback client."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self._app = app
        self._auth = settings.auth_enabled
        self._open = settings.allow_unauthenticated
        metadata = AnyHttpUrl(metadata_url(settings))
        self._require = RequireAuthMiddleware(app, [READ_SCOPE], metadata)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not is_mcp_path(scope):
            await self._app(scope, receive, send)
        elif self._auth:
            await self._require(scope, receive, send)
        elif self._open or _is_loopback(client_of(scope)):
            await self._app(scope, receive, send)
        else:
            await send_json(
                send,
                403,
                {"error": "forbidden", "error_description": "unauthenticated service: loopback clients only"},
            )


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RateLimit:
    """At most `per_minute` MCP requests per principal (or client address) in any 60 seconds."""

    def __init__(self, app: ASGIApp, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._app = app
        self._limit = per_minute
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._limit and is_mcp_path(scope) and scope.get("method") == "POST":
            wait = self._admit(principal_of(scope) or client_of(scope))
            if wait:
                await send_json(
                    send,
                    429,
                    {"error": "rate_limited", "error_description": f"at most {self._limit} calls per minute"},
                    {"Retry-After": str(wait)},
                )
                return
        await self._app(scope, receive, send)

    def _admit(self, key: str) -> int:
        """0 if admitted, else the whole seconds until a slot frees."""
        now = self._clock()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - 60:
            hits.popleft()
        if len(hits) >= self._limit:
            return max(1, math.ceil(hits[0] + 60 - now))
        hits.append(now)
        if len(self._hits) > 100_000:  # forget idle callers
            self._hits = {k: v for k, v in self._hits.items() if v and v[-1] > now - 60}
        return 0


class TrackToolCalls:
    """Count MCP requests until their responses complete; refuse new tool calls while draining.

    A request is in flight from the moment it arrives until its response has been sent, which
    a tool body alone cannot see (it starts later, and ends before the answer leaves). While
    the process drains to stop, new tool calls get 503 so clients retry elsewhere; other
    requests (tools/list, ping, notifications) still pass and are waited for, because clients
    make them as part of calls already in flight.
    """

    def __init__(self, app: ASGIApp, activity: Activity) -> None:
        self._app = app
        self._activity = activity

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (is_mcp_path(scope) and scope.get("method") == "POST"):
            await self._app(scope, receive, send)
            return
        if self._activity.draining and _calls_a_tool(scope.get(PAYLOAD_KEY)):
            await send_json(
                send,
                503,
                {"error": "shutting_down", "error_description": "this instance is stopping; retry"},
                {"Retry-After": "1"},
            )
            return
        self._activity.started()
        try:
            await self._app(scope, receive, send)
        finally:
            self._activity.finished()


def _calls_a_tool(payload: Any) -> bool:
    items = payload if isinstance(payload, list) else [payload]
    return any(isinstance(item, dict) and item.get("method") == "tools/call" for item in items)


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
        "scopes_supported": [READ_SCOPE],
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
