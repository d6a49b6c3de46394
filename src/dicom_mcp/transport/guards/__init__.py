"""The HTTP guards in front of the MCP transports: hosts and origins, callers (auth), rate limits,
request bodies, transport sessions, legacy SSE request ids, and the refusals they answer with."""
