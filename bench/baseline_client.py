"""One tool call through the MCP SDK 1.x's own SSE client; run by the baseline's interpreter, not ours.

`python bench/baseline_client.py URL TOOL ARGUMENTS_JSON` prints one JSON object: the seconds the
call took, its error (if any), the structured result's list and the size of what came back.
Imports only the standard library and mcp 1.x (the baseline's virtual environment has no bench).
"""

# Written against mcp 1.x (camelCase result fields); a type checker here sees this project's mcp 2.x.
# mypy: disable-error-code="attr-defined"

import json
import sys
import time
from typing import Any

import anyio
from mcp import ClientSession
from mcp.client.sse import sse_client


async def call(url: str, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    async with sse_client(url) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        started = time.perf_counter()
        result = await session.call_tool(tool, arguments)
        seconds = time.perf_counter() - started
    texts = [getattr(block, "text", "") for block in result.content]
    structured = result.structuredContent or {}
    return {
        "seconds": seconds,
        "error": " ".join(texts)[:300] if result.isError else None,
        "result": structured.get("result", []),
        "blocks": len(result.content),
        "bytes": len(json.dumps(structured)) + sum(len(text) for text in texts),
    }


if __name__ == "__main__":
    print(json.dumps(anyio.run(call, sys.argv[1], sys.argv[2], json.loads(sys.argv[3]))))
