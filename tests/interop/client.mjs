// Drive dicom-mcp with the TypeScript SDK: list the tools, then make the calls given as JSON.
// Usage: node client.mjs URL legacy|modern '[{"name": "...", "arguments": {...}}, ...]'
// Prints one JSON object: {protocolVersion, sessionId, tools, results: [{isError, structuredContent, text}]}.
const [url, mode, callsJson] = process.argv.slice(2);
const calls = JSON.parse(callsJson ?? "[]");

async function connect() {
  if (mode === "modern") {
    const { Client, StreamableHTTPClientTransport } = await import("@modelcontextprotocol/client");
    const transport = new StreamableHTTPClientTransport(new URL(url));
    const client = new Client({ name: "ts-interop", version: "1.0.0" }, { versionNegotiation: { mode: { pin: "2026-07-28" } } });
    await client.connect(transport);
    return { client, transport };
  }
  const { Client } = await import("@modelcontextprotocol/sdk/client/index.js");
  const { StreamableHTTPClientTransport } = await import("@modelcontextprotocol/sdk/client/streamableHttp.js");
  const transport = new StreamableHTTPClientTransport(new URL(url));
  const client = new Client({ name: "ts-interop", version: "1.0.0" });
  await client.connect(transport);
  return { client, transport };
}

const { client, transport } = await connect();
const { tools } = await client.listTools();
const results = [];
for (const call of calls) {
  const r = await client.callTool(call);
  results.push({ isError: !!r.isError, structuredContent: r.structuredContent ?? null, text: r.content?.[0]?.text ?? null });
}
console.log(JSON.stringify({
  protocolVersion: transport.protocolVersion ?? null,
  sessionId: transport.sessionId ?? null,
  tools: tools.map((t) => t.name),
  results,
}));
await client.close();
