import assert from "node:assert/strict";
import { z } from "zod";
import { ActorHandle } from "../supervisor/mod.ts";
import { metricsText } from "../core/metrics.ts";
import { makeBatch } from "../tests/agents/batch.ts";
import { serveActorTools } from "./actor_tool_port.ts";
import { type AnyToolDefinition, defineTool } from "./tool_definition.ts";

const ECHO = new URL("../tests/agents/echo.ts", import.meta.url);

function lookupTool(calls: { caller: string; args: unknown; correlationId?: string }[]): AnyToolDefinition[] {
  return [
    defineTool({
      name: "lookup",
      title: "Lookup",
      description: "Test tool: records the call.",
      inputSchema: z.object({ batch: z.string() }),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      handler: (args, ctx) => {
        calls.push({ caller: ctx.caller, args, correlationId: ctx.correlationId });
        return Promise.resolve({ rows: 1 });
      },
    }),
  ];
}

Deno.test("a real actor's ctx.tools reaches its MCP server through the runtime's tool port, bound to its id", async () => {
  const calls: { caller: string; args: unknown; correlationId?: string }[] = [];
  const channel = new MessageChannel();
  const conn = await serveActorTools(channel.port1, {
    actorId: "t/echo",
    allow: ["lookup"],
    tools: lookupTool(calls),
  });
  const a = await ActorHandle.start({
    path: "t/echo",
    module: ECHO,
    config: { tool: "lookup" },
    toolPort: channel.port2,
    publish: (topic) => Promise.resolve([{ topic, partition: 0, offset: "0" }]),
  });
  try {
    await a.send(makeBatch("b1"));
    assert.deepEqual(calls, [{ caller: "actor:t/echo", args: { batch: "b1" }, correlationId: "corr-b1" }]);
  } finally {
    await a.stop(1000);
    await conn.close();
  }
});

Deno.test("the server refuses a tool outside the actor's allow-list even when the actor's own spec lists it", async () => {
  const calls: unknown[] = [];
  const channel = new MessageChannel();
  const conn = await serveActorTools(channel.port1, {
    actorId: "t/echo-2",
    allow: ["postgres.*"],
    tools: lookupTool([]),
  });
  const a = await ActorHandle.start({
    path: "t/echo-2",
    module: ECHO,
    config: { tool: "lookup" },
    toolPort: channel.port2,
    publish: (topic) => Promise.resolve([{ topic, partition: 0, offset: "0" }]),
  });
  try {
    const err = await a.send(makeBatch("b1")).catch((e) => e);
    assert.ok(err instanceof Error);
    assert.match(err.message, /access denied: caller "actor:t\/echo-2" may not call tool "lookup"/);
    assert.deepEqual(calls, []);
    assert.match(await metricsText(), /mcp_tool_denied_total\{caller="actor:t\/echo-2",tool="lookup"\} 1/);
    assert.match(
      await metricsText(),
      /mcp_tool_call_duration_seconds_count\{tool="lookup",outcome="denied"\} [1-9]/,
    );
  } finally {
    await a.stop(1000);
    await conn.close();
  }
});
