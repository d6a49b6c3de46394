"""One guard layer for older clients' transport sessions, whichever transport they use."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from dicom_mcp.state.limits.open_sessions import OpenSessions
from dicom_mcp.transport.guards.sse_requests import MESSAGES_PATH, STREAM_PATH, SseRequestIds
from dicom_mcp.transport.guards.transport_sessions import TransportSessions


class OlderSessions:
    """Older clients' transport sessions, one layer: `/mcp` session ids (`TransportSessions`) and
    the legacy `/sse` transport's request ids (`SseRequestIds`); every other request passes."""

    def __init__(self, app: ASGIApp, per_caller: int, open_sessions: OpenSessions) -> None:
        self._app = app
        self._mcp = TransportSessions(app, per_caller, open_sessions)
        self._sse = SseRequestIds(app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path") if scope["type"] == "http" else None
        if path == "/mcp":
            await self._mcp(scope, receive, send)
        elif path in (STREAM_PATH, MESSAGES_PATH):
            await self._sse(scope, receive, send)
        else:
            await self._app(scope, receive, send)
