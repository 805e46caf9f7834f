import assert from "node:assert/strict";
import { createToolClient, serveToolPort, ToolCallError } from "./mod.ts";

Deno.test("tool calls round-trip over a MessagePort; server errors and aborts become ToolCallErrors", async () => {
  const ch = new MessageChannel();
  const stop = serveToolPort(ch.port1, (name, args, corr) => {
    if (name === "fail") throw new RangeError("row cap exceeded");
    if (name === "hang") return new Promise(() => {});
    return { name, args, corr };
  });
  const client = createToolClient(ch.port2, ["echo", "fail", "hang"], () => "c-1");
  try {
    assert.deepEqual(await client.call("echo", { a: 1 }), { name: "echo", args: { a: 1 }, corr: "c-1" });
    const err = await client.call("fail", {}).catch((e) => e);
    assert.ok(err instanceof ToolCallError);
    assert.equal(err.tool, "fail");
    assert.equal(err.remoteName, "RangeError");
    assert.match(err.message, /row cap exceeded/);
    await assert.rejects(client.call("hang", {}, { signal: AbortSignal.timeout(20) }), /aborted/);
    await assert.rejects(client.call("drop", {}), /not in this agent's spec.tools/);
  } finally {
    stop();
    ch.port2.close();
  }
});

Deno.test("without a port every call is refused", async () => {
  await assert.rejects(createToolClient(undefined, ["x"], () => undefined).call("x", {}), /no tool port/);
});
