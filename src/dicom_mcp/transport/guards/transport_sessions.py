"""Older clients' transport sessions (`Mcp-Session-Id`): per-caller caps, bindings, request ids.

- A caller (principal, else client address) may hold at most `per_caller` open sessions, so
  one caller cannot take every slot of DICOM_MCP_HTTP_MAX_SESSIONS from the others.
- A modern (2026-07-28) request has no transport session: an `Mcp-Session-Id` it carries is
  removed here, so nothing behind can mistake it for a binding to another caller's session.
- A JSON-RPC request id still in flight on a session is refused (409) instead of being
  routed to the first request's answer, which would lose one of them.

A session counts as open from the response that names it until it is deleted, answered 404,
or idle for the SDK's idle timeout (the same rule the SDK uses to close it). The count lives
in `open_sessions`: in Redis when replicas share it, so the cap holds across replicas. While
Redis cannot be reached the cap is not applied (the caller's tool calls then fail with the
store's own error wherever they need it).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from contextlib import suppress
from typing import Any

from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dicom_mcp.errors import StoreError
from dicom_mcp.state.limits.open_sessions import OpenSessions
from dicom_mcp.transport.guards.asgi import PAYLOAD_KEY, caller_key, header, jsonrpc_error, send_json

SESSION_HEADER = b"mcp-session-id"
INVALID_REQUEST = -32600

logger = logging.getLogger(__name__)


def is_modern(scope: Scope) -> bool:
    """A request of the stateless protocol: its version header names no handshake version."""
    version = header(scope, b"mcp-protocol-version")
    return version is not None and version not in HANDSHAKE_PROTOCOL_VERSIONS


def request_ids(payload: Any) -> list[str]:
    """The ids of the JSON-RPC requests (not notifications or responses) in a body."""
    items = payload if isinstance(payload, list) else [payload]
    return [
        repr(item["id"])
        for item in items
        if isinstance(item, dict) and "method" in item and item.get("id") is not None
    ]


def opens_session(payload: Any) -> bool:
    items = payload if isinstance(payload, list) else [payload]
    return any(isinstance(item, dict) and item.get("method") == "initialize" for item in items)


class TransportSessions:
    """Guards `/mcp` requests of older clients; see the module docstring."""

    def __init__(self, app: ASGIApp, per_caller: int, open_sessions: OpenSessions) -> None:
        self._app = app
        self._per_caller = per_caller
        self._open = open_sessions
        self._in_flight: set[tuple[str, str, str]] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") != "/mcp":
            await self._app(scope, receive, send)
            return
        if is_modern(scope):
            scope["headers"] = [(k, v) for k, v in scope.get("headers", ()) if k != SESSION_HEADER]
            await self._app(scope, receive, send)
            return
        sid = header(scope, SESSION_HEADER)
        caller = caller_key(scope)
        if sid is None:
            await self._open_session(scope, receive, send, caller)
        else:
            await self._in_session(scope, receive, send, caller, sid)

    async def _open_session(self, scope: Scope, receive: Receive, send: Send, caller: str) -> None:
        opening = scope.get("method") == "POST" and opens_session(scope.get(PAYLOAD_KEY))
        if opening and await self._count(caller) >= self._per_caller:
            message = (
                f"too many open MCP sessions for this caller (at most {self._per_caller}): "
                "end one with HTTP DELETE, or reuse it"
            )
            await send_json(send, 429, jsonrpc_error(INVALID_REQUEST, message), {"Retry-After": "60"})
            return

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 200:
                for key, value in message.get("headers", ()):
                    if key.lower() == SESSION_HEADER:
                        await self._record(self._open.opened(caller, bytes(value).decode("latin-1")))
            await send(message)

        await self._app(scope, receive, watch)

    async def _in_session(self, scope: Scope, receive: Receive, send: Send, caller: str, sid: str) -> None:
        ids = [(caller, sid, rid) for rid in request_ids(scope.get(PAYLOAD_KEY))]
        if any(key in self._in_flight for key in ids) or len(set(ids)) < len(ids):
            message = "a request with this id is still in flight on this session: use a new id"
            await send_json(send, 409, jsonrpc_error(INVALID_REQUEST, message))
            return
        status: int | None = None

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self._in_flight.update(ids)
        try:
            await self._app(scope, receive, watch)
        finally:
            self._in_flight.difference_update(ids)
        ended = status == 404 or (scope.get("method") == "DELETE" and status is not None and status < 300)
        await self._record(self._open.closed(caller, sid) if ended else self._open.touch(caller, sid))

    async def _count(self, caller: str) -> int:
        try:
            return await self._open.count(caller)
        except StoreError as exc:
            logger.warning("open sessions not counted for this initialize: %s", exc)
            return 0

    @staticmethod
    async def _record(update: Awaitable[None]) -> None:
        """Apply a change to the open-session count once the response is on its way; a store
        failure then costs accuracy (the session lapses after the idle timeout), not the answer."""
        with suppress(StoreError):
            await update
