"""The process's life: what is in flight right now, and draining it before a stop.

`Activity` is shared by the tools (which count calls) and the HTTP layer; `TrackToolCalls`
counts MCP requests until their responses are sent, and turns new tool calls away with 503
once the process drains to stop (`http.py` waits for the count to settle).
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from dicom_mcp.state.activity import Activity
from dicom_mcp.transport.guards.asgi import PAYLOAD_KEY, is_mcp_path, send_json


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
