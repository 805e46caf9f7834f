import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { demoTools } from "./_demo_tools.ts";
import { MessagePortTransport } from "./message_port_transport.ts";
import { serveActorTools } from "./actor_tool_port.ts";

Deno.test("MCP over the two ends of a MessageChannel: list, call, refusal, close reaches the other end", async () => {
  const written: { caller: string; value: string }[] = [];
  const { port1, port2 } = new MessageChannel();
  const conn = await serveActorTools(port1, {
    actorId: "pg-sink-0",
    allow: ["demo.echo"],
    tools: demoTools(written),
    protocol: "mcp",
  });
  const client = new Client({ name: "actor", version: "0" });
  const transport = new MessagePortTransport(port2);
  let clientClosed = false;
  await client.connect(transport);
  client.onclose = () => clientClosed = true;
  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((t: { name: string }) => t.name).sort(), ["demo.echo", "demo.write"]);
  const echo = await client.callTool({ name: "demo.echo", arguments: { text: "hi" } }) as CallToolResult;
  assert.deepEqual(echo.structuredContent, { text: "hi", caller: "actor:pg-sink-0" });
  const denied = await client.callTool({ name: "demo.write", arguments: { value: "x" } }) as CallToolResult;
  assert.equal(denied.isError, true);
  assert.match((denied.content[0] as { text: string }).text, /access denied: caller "actor:pg-sink-0"/);
  assert.deepEqual(written, []);
  const invalid = await client.callTool({ name: "demo.echo", arguments: { text: 42 } }) as CallToolResult;
  assert.equal(invalid.isError, true, "input is validated against the zod schema");
  await conn.close();
  const deadline = Date.now() + 10_000; // the close crosses the port: wait for it, generously
  while (!clientClosed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.equal(clientClosed, true, "closing the server end closes the client end");
});

Deno.test("MCP over a MessagePort from a real Worker: the identity comes from the port, not the message", async () => {
  const written: { caller: string; value: string }[] = [];
  const { port1, port2 } = new MessageChannel();
  const conn = await serveActorTools(port1, {
    actorId: "monitor-1",
    allow: ["demo.*"],
    tools: demoTools(written),
    protocol: "mcp",
  });
  const worker = new Worker(new URL("./_mcp_worker.ts", import.meta.url), { type: "module" });
  try {
    const reply = new Promise<{ tools: string[]; echo: CallToolResult; write: CallToolResult }>(
      (resolve, reject) => {
        worker.onmessage = (e) => resolve(e.data);
        worker.onerror = (e) => reject(e.error ?? new Error(e.message));
      },
    );
    worker.postMessage({ port: port2 }, [port2]);
    const { tools, echo, write } = await reply;
    assert.deepEqual(tools.sort(), ["demo.echo", "demo.write"]);
    assert.deepEqual(echo.structuredContent, { text: "from worker", caller: "actor:monitor-1" });
    assert.deepEqual(write.structuredContent, { count: 1 });
    assert.deepEqual(written, [{ caller: "actor:monitor-1", value: "w", correlationId: undefined }]);
  } finally {
    worker.terminate();
    await conn.close();
  }
});
