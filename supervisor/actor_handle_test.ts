import assert from "node:assert/strict";
import { ActorHandle, BatchFailedError, MailboxFullError } from "./mod.ts";
import { makeBatch } from "../tests/agents/batch.ts";
import { ALLOWED_PORT } from "../tests/agents/fetcher.ts";

const SLOW = new URL("../tests/agents/slow.ts", import.meta.url);
const FETCHER = new URL("../tests/agents/fetcher.ts", import.meta.url);
const READER = new URL("../tests/agents/reader.ts", import.meta.url);

Deno.test("the credit window bounds in-flight batches; credit events let a source pause and resume", async () => {
  const a = await ActorHandle.start({
    path: "t/slow",
    module: SLOW,
    config: { delayMs: 20 },
    creditWindow: 3,
    mailboxCapacity: 5,
  });
  let maxInflight = 0;
  const acked: string[] = [];
  a.on("ack", (e) => acked.push(e.batchId));
  let credits = 0;
  a.on("credit", () => credits++);

  // A well-behaved source: send while there is credit, wait for the credit event otherwise.
  const sends: Promise<void>[] = [];
  for (let i = 0; i < 12; i++) {
    if (!a.hasCredit()) {
      await new Promise<void>((r) => {
        const off = a.on("credit", () => (off(), r()));
      });
    }
    sends.push(a.send(makeBatch(`b${i}`)));
    assert.ok(a.inflight <= 3, `in flight ${a.inflight}`);
    maxInflight = Math.max(maxInflight, a.inflight);
  }
  await Promise.all(sends);
  assert.equal(maxInflight, 3);
  assert.ok(credits >= 3, `credit events: ${credits}`);
  assert.deepEqual(acked, Array.from({ length: 12 }, (_, i) => `b${i}`), "acked in send order");

  // An ill-behaved caller: beyond window + capacity, send rejects.
  const flood = Array.from({ length: 9 }, (_, i) => a.send(makeBatch(`f${i}`)).catch((e) => e));
  assert.equal(a.inflight, 3);
  assert.equal(a.mailboxDepth, 5);
  const results = await Promise.all(flood);
  assert.equal(results.filter((r) => r instanceof MailboxFullError).length, 1);
  await a.stop(1000);
});

Deno.test("stop rejects queued batches, lets the current one finish, and exits with shutdown", async () => {
  const a = await ActorHandle.start({
    path: "t/slow",
    module: SLOW,
    config: { delayMs: 100, ignoreStop: true },
  });
  const results = ["1", "2", "3"].map((id) => a.send(makeBatch(id)).then(() => "acked", (e) => e.name));
  await new Promise((r) => setTimeout(r, 30));
  await a.stop(2000);
  assert.deepEqual(await Promise.all(results), ["acked", "ActorExitedError", "ActorExitedError"]);
  assert.deepEqual(await a.exited, { kind: "shutdown" });
});

Deno.test("brutal_kill terminates at once", async () => {
  const a = await ActorHandle.start({
    path: "t/busy",
    module: SLOW,
    config: { delayMs: 60_000, busy: true },
  });
  const pending = a.send(makeBatch("1")).catch((e) => e.name);
  const t0 = performance.now();
  await a.stop("brutal_kill");
  assert.ok(performance.now() - t0 < 100);
  assert.deepEqual(await a.exited, { kind: "killed" });
  assert.equal(await pending, "ActorExitedError");
});

Deno.test("an actor reaches its declared loopback host and Deno refuses any other host", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: ALLOWED_PORT, onListen() {} },
    () => new Response("hi"),
  );
  const other = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => new Response("no"));
  const statuses: string[] = [];
  try {
    const a = await ActorHandle.start({
      path: "t/fetcher",
      module: FETCHER,
      publish: (topic, records) => {
        statuses.push(new TextDecoder().decode(records[0]!.value as Uint8Array));
        return Promise.resolve([{ topic, partition: 0, offset: "0" }]);
      },
    });
    assert.deepEqual(a.permissions, {
      net: [`127.0.0.1:${ALLOWED_PORT}`],
      read: false,
      write: false,
      env: false,
      run: false,
      ffi: false,
      sys: false,
      import: false,
    });
    await a.send(makeBatch("ok", [`http://127.0.0.1:${ALLOWED_PORT}/`]));
    assert.deepEqual(statuses, ["200"]);
    const err = await a.send(makeBatch("no", [`http://127.0.0.1:${other.addr.port}/`])).catch((e) => e);
    assert.ok(err instanceof BatchFailedError);
    assert.equal(err.remoteName, "NotCapable");
    assert.match(err.message, new RegExp(`Requires net access to "127.0.0.1:${other.addr.port}"`));
    assert.equal(a.state, "running");
    await a.stop(1000);
  } finally {
    await server.shutdown();
    await other.shutdown();
  }
});

Deno.test("an actor with no declared permissions cannot read files or environment", async () => {
  const a = await ActorHandle.start({ path: "t/reader", module: READER });
  const err = await a.send(makeBatch("r", [new URL(import.meta.url).pathname])).catch((e) => e);
  assert.ok(err instanceof BatchFailedError);
  assert.equal(err.remoteName, "NotCapable");
  assert.match(err.message, /Requires read access/);
  await a.stop(1000);
});

Deno.test("a module that is not an agent is refused before any Worker starts", async () => {
  await assert.rejects(
    ActorHandle.start({ path: "t/x", module: new URL("../tests/agents/batch.ts", import.meta.url) }),
    (e: Error) => e instanceof TypeError && /does not export `spec`/.test(e.message),
  );
});
