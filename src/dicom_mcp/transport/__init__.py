"""How clients reach the tools: the Starlette app (Streamable HTTP at /mcp, legacy SSE at /sse,
health, readiness, metrics), the uvicorn and stdio runners, the MCPServer factory, the process's
lifecycle and start-up line, and the ASGI guards in `guards/`.
"""
