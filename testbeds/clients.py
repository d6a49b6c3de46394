"""MCP clients for the service: the SDK's over real HTTP (modern, legacy, SSE) or stdio, and call helpers."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

# The SDK's own defaults for its HTTP transports: a server may hold a response stream open.
TIMEOUT = httpx2.Timeout(30.0, read=300.0)


@asynccontextmanager
async def mcp_client(url: str, mode: str, headers: Mapping[str, str] | None = None) -> AsyncIterator[Client]:
    """An SDK client over real HTTP: mode 'modern' (2026-07-28), 'legacy' (initialize) or 'sse'."""
    if mode == "sse":
        base = url.removesuffix("/mcp")
        async with Client(sse_client(f"{base}/sse", headers=dict(headers or {})), mode="legacy") as client:
            yield client
        return
    async with httpx2.AsyncClient(headers=dict(headers or {}), timeout=TIMEOUT) as http:
        transport = streamable_http_client(url, http_client=http)
        async with Client(transport, mode="2026-07-28" if mode == "modern" else "legacy") as client:
            yield client


@asynccontextmanager
async def stdio_client(env: Mapping[str, str]) -> AsyncIterator[Client]:
    """An SDK client driving `python -m dicom_mcp --transport stdio` as a subprocess."""
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "dicom_mcp", "--transport", "stdio"], env=dict(env)
    )
    async with Client(params) as client:
        yield client


async def call_ok(client: Client, tool: str, **arguments: object) -> dict[str, object]:
    """Call a tool that must succeed; return its structured result."""
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, f"{tool} failed: {result.content}"
    assert result.structured_content is not None
    return dict(result.structured_content)


async def call_error(client: Client, tool: str, **arguments: object) -> str:
    """Call a tool that must fail; return its error text."""
    result = await client.call_tool(tool, arguments)
    assert result.is_error, f"{tool} unexpectedly succeeded: {result.structured_content}"
    return " ".join(getattr(block, "text", "") for block in result.content)
