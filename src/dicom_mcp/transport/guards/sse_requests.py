"""Legacy HTTP+SSE clients: a JSON-RPC request id still in flight on a session is refused (409).

On `/sse` a client POSTs requests to `/messages/?session_id=…` and reads every answer from its
event stream. Two requests in flight with the same id would be answered under one id, and one
answer would be lost. This guard remembers the ids POSTed on each session until an answer with
that id leaves on the session's stream, and refuses a repeat meanwhile, as `/mcp` does
(`transport_sessions.py`). It learns a stream's session from the stream's first event (the
`endpoint` event naming `/messages/?session_id=…`), reads the answers' ids from the events
going out, and forgets a session's ids when its stream ends.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dicom_mcp.transport.guards.asgi import PAYLOAD_KEY, jsonrpc_error, send_json
from dicom_mcp.transport.guards.transport_sessions import INVALID_REQUEST, request_ids

STREAM_PATH = "/sse"
MESSAGES_PATH = "/messages/"


def _session_of_query(query: bytes | str) -> str | None:
    text = query.decode("latin-1") if isinstance(query, bytes) else query
    values = parse_qs(text).get("session_id")
    return values[0] if values else None


# How the SDK writes a response: its id comes before the (possibly large) result.
_RESPONSE_HEAD = re.compile(
    r'\{"jsonrpc":\s*"2\.0",\s*"id":\s*(-?\d+|"(?:[^"\\]|\\.)*")\s*,\s*"(?:result|error)"'
)


def _answered_ids(event: str) -> list[str]:
    """The ids of the JSON-RPC responses in one server-sent event (none for requests or notifications)."""
    data = "".join(line[5:].lstrip() for line in event.splitlines() if line.startswith("data:"))
    if not data.startswith(("{", "[")):
        return []
    head = _RESPONSE_HEAD.match(data)
    if head is not None:  # no need to parse a large answer to learn its id
        return [repr(json.loads(head.group(1)))]
    try:
        payload: Any = json.loads(data)
    except ValueError:
        return []
    items = payload if isinstance(payload, list) else [payload]
    return [
        repr(item["id"])
        for item in items
        if isinstance(item, dict) and "method" not in item and item.get("id") is not None
    ]


class SseRequestIds:
    """Guards `/messages/` POSTs against reused in-flight ids; see the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app
        self._in_flight: dict[str, set[str]] = {}  # session id -> request ids awaiting an answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
        elif scope.get("path") == STREAM_PATH and scope.get("method") == "GET":
            await self._stream(scope, receive, send)
        elif scope.get("path") == MESSAGES_PATH and scope.get("method") == "POST":
            await self._post(scope, receive, send)
        else:
            await self._app(scope, receive, send)

    async def _post(self, scope: Scope, receive: Receive, send: Send) -> None:
        sid = _session_of_query(scope.get("query_string", b""))
        ids = request_ids(scope.get(PAYLOAD_KEY))
        pending = self._in_flight.get(sid) if sid is not None else None
        if pending is None or not ids:
            await self._app(scope, receive, send)
            return
        if any(rid in pending for rid in ids) or len(set(ids)) < len(ids):
            message = "a request with this id is still in flight on this session: use a new id"
            await send_json(send, 409, jsonrpc_error(INVALID_REQUEST, message))
            return
        pending.update(ids)
        accepted = False

        async def watch(message: Message) -> None:
            nonlocal accepted
            if message["type"] == "http.response.start":
                accepted = message["status"] < 300
            await send(message)

        try:
            await self._app(scope, receive, watch)
        finally:
            if not accepted:  # never dispatched: no answer will come for these ids
                pending.difference_update(ids)

    async def _stream(self, scope: Scope, receive: Receive, send: Send) -> None:
        sid: str | None = None
        buffer = ""

        async def watch(message: Message) -> None:
            nonlocal sid, buffer
            if message["type"] == "http.response.body" and message.get("body"):
                buffer += bytes(message["body"]).decode("utf-8", errors="replace")
                *events, buffer = buffer.replace("\r\n", "\n").split("\n\n")
                for event in events:
                    if sid is None and "event: endpoint" in event:
                        sid = _session_of_query(event.split("?", 1)[-1].strip())
                        if sid is not None:
                            self._in_flight[sid] = set()
                    elif sid is not None and self._in_flight.get(sid):
                        self._in_flight[sid].difference_update(_answered_ids(event))
            await send(message)

        try:
            await self._app(scope, receive, watch)
        finally:
            if sid is not None:
                self._in_flight.pop(sid, None)
