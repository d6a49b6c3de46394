"""Read an MCP POST's body within its limit, and parse it once for the guards behind.

The SDK checks the size only after a body has been read, so a client could make the process
hold hundreds of megabytes. Here a declared Content-Length over the limit is refused before
a byte is read, and a body without one is counted while it streams and refused as soon as it
passes the limit. JSON nested deeper than any MCP message needs is refused with 400, before
anything recursive touches it.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dicom_mcp.transport.guards.asgi import PAYLOAD_KEY, header, is_mcp_path, jsonrpc_error, send_json

# MCP messages nest a few levels (params -> arguments -> a list of keywords); 64 is generous.
MAX_DEPTH = 64
PARSE_ERROR = -32700


def depth_of(value: Any) -> int:
    """How deeply `value` nests lists and objects (iterative: no recursion limit to hit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


class TooDeep(ValueError):
    """A JSON body nests deeper than MAX_DEPTH."""


def parse_payload(body: bytes) -> Any:
    """The JSON value of `body`, or None if it is not JSON (the SDK then answers a parse error).

    Raises:
        TooDeep: the body nests deeper than MAX_DEPTH.
    """
    try:
        payload = json.loads(body)
    except RecursionError:
        raise TooDeep from None
    except ValueError:
        return None
    if depth_of(payload) > MAX_DEPTH:
        raise TooDeep
    return payload


class ReadBody:
    """413 for a body over `limit` bytes (declared or counted), 400 for JSON nested too deeply."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self._app = app
        self._limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (is_mcp_path(scope) and scope.get("method") == "POST"):
            await self._app(scope, receive, send)
            return
        declared = header(scope, b"content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > self._limit:
            await self._too_large(send)
            return
        chunks: list[bytes] = []
        size = 0
        message: Message = {"type": "http.request", "more_body": True}
        while message.get("more_body"):
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self._limit:
                await self._too_large(send)
                return
            chunks.append(chunk)
        body = b"".join(chunks)
        try:
            scope[PAYLOAD_KEY] = parse_payload(body)
        except TooDeep:
            error = jsonrpc_error(PARSE_ERROR, f"JSON nested deeper than {MAX_DEPTH} levels")
            await send_json(send, 400, error)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self._app(scope, replay, send)

    async def _too_large(self, send: Send) -> None:
        await send_json(
            send,
            413,
            {"error": "too_large", "error_description": f"request bodies are limited to {self._limit} bytes"},
            {"Connection": "close"},
        )
