"""HTTP guards in front of the MCP endpoints: authentication, loopback-only mode, rate limits, refusal audit.

Only the MCP paths (`/mcp`, `/sse`, `/messages/`) are guarded; health, readiness, metrics and
the protected resource metadata stay open.
"""

from __future__ import annotations

import ipaddress
import json
import math
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser, RequireAuthMiddleware
from pydantic import AnyHttpUrl
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dicom_mcp.activity import Activity
from dicom_mcp.metrics import Metrics
from dicom_mcp.security.audit import AuditSink
from dicom_mcp.security.auth import READ_SCOPE
from dicom_mcp.settings import Settings

MCP_PATHS = ("/mcp", "/sse", "/messages")
METADATA_PATH = "/.well-known/oauth-protected-resource"
REFUSALS = frozenset({401, 403, 413, 421, 429})


def is_mcp_path(scope: Scope) -> bool:
    path: str = scope.get("path", "")
    return scope["type"] == "http" and any(path == p or path.startswith(p + "/") for p in MCP_PATHS)


def principal_of(scope: Scope) -> str | None:
    user = scope.get("user")
    if isinstance(user, AuthenticatedUser):
        token = user.access_token
        return token.subject or token.client_id
    return None


def client_of(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


async def send_json(
    send: Send, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> None:
    payload = json.dumps(body).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


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
        messages = [await receive()]
        while messages[-1].get("more_body"):
            messages.append(await receive())

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        calls_a_tool = _calls_a_tool(b"".join(m.get("body", b"") for m in messages))
        if calls_a_tool and self._activity.draining:
            await send_json(
                send,
                503,
                {"error": "shutting_down", "error_description": "this instance is stopping; retry"},
                {"Retry-After": "1"},
            )
        else:
            self._activity.started()
            try:
                await self._app(scope, replay, send)
            finally:
                self._activity.finished()


def _calls_a_tool(body: bytes) -> bool:
    try:
        payload = json.loads(body)
    except ValueError:
        return False
    items = payload if isinstance(payload, list) else [payload]
    return any(isinstance(item, dict) and item.get("method") == "tools/call" for item in items)


class AuditRefusals:
    """Record every refused MCP request (401, 403, 413, 421, 429) in the audit trail and metrics."""

    def __init__(self, app: ASGIApp, audit: AuditSink, metrics: Metrics) -> None:
        self._app = app
        self._audit = audit
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not is_mcp_path(scope):
            await self._app(scope, receive, send)
            return

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in REFUSALS:
                self._metrics.refused.labels(str(message["status"])).inc()
                self._audit.record(
                    "refused",
                    status=message["status"],
                    method=scope.get("method"),
                    path=scope.get("path"),
                    client=client_of(scope),
                    principal=principal_of(scope),
                    outcome="refused",
                )
            await send(message)

        await self._app(scope, receive, watch)


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
