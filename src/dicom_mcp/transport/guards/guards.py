"""HTTP guards in front of the MCP endpoints: who may call (a token, or loopback), and how often.

Only the MCP paths (`/mcp`, `/sse`, `/messages/`) are guarded; health, readiness, metrics and
the protected resource metadata stay open.
"""

from __future__ import annotations

import ipaddress
import logging

from mcp.server.auth.middleware.bearer_auth import RequireAuthMiddleware
from pydantic import AnyHttpUrl
from starlette.types import ASGIApp, Receive, Scope, Send

from dicom_mcp.errors import StoreError
from dicom_mcp.security.auth import READ_SCOPE
from dicom_mcp.security.metadata import metadata_url
from dicom_mcp.settings import Settings
from dicom_mcp.state.window import MemoryWindow, SlidingWindow, Window
from dicom_mcp.transport.guards.asgi import client_of, is_mcp_path, principal_of, send_json

logger = logging.getLogger(__name__)


class Callers:
    """Who may call the MCP endpoints, and how often: one layer for both.

    A valid bearer token (401/403 from the SDK), or, without auth, a loopback client; then at most
    `window.limit` MCP requests per principal (or client address) in any `window.seconds`.
    `window` may count in Redis, shared by replicas. While Redis cannot be reached, this replica
    counts on its own (a caller then gets up to the limit per replica), so the request goes on
    to the tool, whose own error says the store is unavailable if it needs the store.
    """

    def __init__(self, app: ASGIApp, settings: Settings, window: Window | None) -> None:
        self._app = app
        self._auth = settings.auth_enabled
        self._open = settings.allow_unauthenticated
        self._require = RequireAuthMiddleware(self._limited, [READ_SCOPE], AnyHttpUrl(metadata_url(settings)))
        self._window = window
        self._fallback = MemoryWindow(window.limit, window.seconds) if window is not None else None
        self._degraded = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not is_mcp_path(scope):
            await self._app(scope, receive, send)
        elif self._auth:
            await self._require(scope, receive, send)
        elif self._open or _is_loopback(client_of(scope)):
            await self._limited(scope, receive, send)
        else:
            await send_json(
                send,
                403,
                {"error": "forbidden", "error_description": "unauthenticated service: loopback clients only"},
            )

    async def _limited(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The rate limit, for a caller already admitted."""
        if self._window is not None and scope.get("method") == "POST":
            wait = await self._admit(principal_of(scope) or client_of(scope))
            if wait:
                limit = f"at most {self._window.limit} calls per {self._window.seconds:g} s"
                await send_json(
                    send,
                    429,
                    {"error": "rate_limited", "error_description": limit},
                    {"Retry-After": str(SlidingWindow.whole_seconds(wait))},
                )
                return
        await self._app(scope, receive, send)

    async def _admit(self, caller: str) -> float:
        assert self._window is not None and self._fallback is not None
        try:
            wait = await self._window.admit(caller)
        except StoreError as exc:
            if not self._degraded:  # once per outage, not once per request
                logger.warning("rate limit counted on this replica only until Redis answers: %s", exc)
                self._degraded = True
            return await self._fallback.admit(caller)
        if self._degraded:
            logger.info("rate limit counted in Redis again")
            self._degraded = False
        return wait


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
