import assert from "node:assert/strict";
import { z } from "zod";
import { ActorHandle, BatchFailedError } from "../supervisor/mod.ts";
import { createToolClient } from "../actors/runtime/tool_client.ts";
import { ToolCallError } from "../actors/runtime/tool_call_error.ts";
import { DatabaseError } from "./database_error.ts";
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

/** A tool that fails the way `args.batch` names: retriable, permanent, or with an error that carries no flag. */
function failingTool(): AnyToolDefinition[] {
  return [
    defineTool({
      name: "lookup",
      title: "Lookup",
      description: "Test tool: fails as asked.",
      inputSchema: z.object({ batch: z.string() }),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      handler: ({ batch }) => {
        if (batch === "lost") {
          throw new DatabaseError("inserting: connection lost", { code: "ECONNRESET", retriable: true });
        }
        if (batch === "denied") {
          throw new DatabaseError("inserting: 42501: permission denied", { code: "42501", retriable: false });
        }
        if (batch === "bug") throw new TypeError("x is undefined");
        return Promise.resolve({ rows: 1 });
      },
    }),
  ];
}

Deno.test("a tool error's retriable flag and class reach the agent's ToolCallError through the real port unchanged", async () => {
  const channel = new MessageChannel();
  const conn = await serveActorTools(channel.port1, {
    actorId: "t/flags",
    allow: ["lookup"],
    tools: failingTool(),
  });
  const client = createToolClient(channel.port2, ["lookup", "missing"], () => undefined);
  const failure = (args: Record<string, unknown>, name = "lookup") =>
    client.call(name, args).then(() => assert.fail("the call succeeded"), (e) => e);
  try {
    const lost = await failure({ batch: "lost" });
    assert.ok(lost instanceof ToolCallError);
    assert.equal(lost.remoteName, "DatabaseError");
    assert.equal(lost.retriable, true);
    assert.match(lost.message, /connection lost/);

    const denied = await failure({ batch: "denied" });
    assert.ok(denied instanceof ToolCallError);
    assert.equal(denied.remoteName, "DatabaseError");
    assert.equal(denied.retriable, false, "a permanent database error must not come back retriable");

    const bug = await failure({ batch: "bug" });
    assert.equal(bug.remoteName, "TypeError");
    assert.equal(bug.retriable, undefined, "an error without a flag stays unknown, not guessed");

    const invalid = await failure({ batch: 42 });
    assert.equal(invalid.remoteName, "InvalidToolCall", "arguments the input schema refuses");
    assert.equal(invalid.retriable, false);

    const unknown = await failure({ batch: "x" }, "missing");
    assert.equal(unknown.remoteName, "InvalidToolCall", "a tool the server does not have");
    assert.equal(unknown.retriable, false);
  } finally {
    channel.port2.close();
    await conn.close();
  }
});

Deno.test("a Worker agent failing on a tool error reports the tool's retriable flag to its handle (what the dispatcher reads)", async () => {
  const channel = new MessageChannel();
  const conn = await serveActorTools(channel.port1, {
    actorId: "t/flags-w",
    allow: ["lookup"],
    tools: failingTool(),
  });
  const a = await ActorHandle.start({
    path: "t/flags-w",
    module: ECHO,
    config: { tool: "lookup" },
    toolPort: channel.port2,
    publish: (topic) => Promise.resolve([{ topic, partition: 0, offset: "0" }]),
  });
  try {
    const lost = await a.send(makeBatch("lost")).catch((e) => e);
    assert.ok(lost instanceof BatchFailedError);
    assert.equal(lost.remoteName, "ToolCallError");
    assert.equal(lost.retriable, true);
    const denied = await a.send(makeBatch("denied")).catch((e) => e);
    assert.ok(denied instanceof BatchFailedError);
    assert.equal(denied.retriable, false);
    const bug = await a.send(makeBatch("bug")).catch((e) => e);
    assert.ok(bug instanceof BatchFailedError);
    assert.equal(bug.retriable, undefined);
  } finally {
    await a.stop(1000);
    await conn.close();
  }
});
