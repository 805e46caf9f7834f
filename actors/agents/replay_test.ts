import assert from "node:assert/strict";
import { ActorHandle } from "../../supervisor/actor_handle.ts";
import { ActorCrashError } from "../../supervisor/actor_crash_error.ts";
import { type Recorder, recorder, waitFor, withPermissions } from "./_test_helpers.ts";
import type { Tick } from "../sources/market_record.ts";
import { SAMPLE_TICKS_PATH } from "./replay.ts";

const MODULE = new URL("./replay.ts", import.meta.url);

/** Starts the agent as the pipeline does (its spec grants `read` of the configured file), or granting `grantsFor`. */
function start(config: Record<string, unknown>, publish: Recorder["publish"], grantsFor?: string) {
  return ActorHandle.start({
    path: "t/replay",
    module: grantsFor === undefined ? MODULE : withPermissions(MODULE, { read: [grantsFor] }),
    config,
    publish,
  });
}

Deno.test("replay of the shipped sample publishes all 300 ticks in fast mode, in file order, and exits", async () => {
  const rec = recorder();
  const a = await start({ speed: 0 }, rec.publish);
  assert.deepEqual(a.permissions.read, [SAMPLE_TICKS_PATH]);
  assert.equal(a.permissions.net, false);
  assert.deepEqual(await a.exited, { kind: "normal" });
  const ticks = rec.records("market.ticks");
  assert.equal(ticks.length, 300);
  const lines = (await Deno.readTextFile(SAMPLE_TICKS_PATH)).trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(ticks.map((t) => (t.value as Tick).ts), lines.map((l) => l.ts));
  assert.ok(ticks.every((t) => t.key === (t.value as Tick).symbol && (t.value as Tick).source === "replay"));
  assert.ok(ticks.every((t) => t.headers?.source === "replay" && t.headers["correlation-id"]));
});

Deno.test("replay paces by the records' timestamps and stops early on stop", async () => {
  const rec = recorder();
  // The sample holds 10 ticks/s; at speed 1 the whole file takes 30 s.
  const started = performance.now();
  const a = await start({ speed: 1, lingerMs: 5 }, rec.publish);
  await waitFor(() => rec.records("market.ticks").length >= 3, 30_000);
  await a.stop(2000);
  const seconds = (performance.now() - started) / 1000;
  assert.deepEqual(await a.exited, { kind: "shutdown" });
  const n = rec.records("market.ticks").length;
  assert.ok(n <= Math.ceil(10 * seconds) + 2, `paced at 10 ticks/s: ${n} ticks in ${seconds.toFixed(2)} s`);
  assert.ok(n < 300, "stopped before the end of the file");
});

Deno.test("a malformed line goes to the dead-letter topic with its headers; the rest flows", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/ticks.csv`;
  await Deno.writeTextFile(
    path,
    "symbol,ts,price\nAAPL,1704207600000,190.1\nAAPL,1704207601000,abc\nMSFT,1704207602000,420\n",
  );
  try {
    const rec = recorder();
    const a = await start({ path, speed: 0, deadLetterTopic: "dlq" }, rec.publish);
    assert.deepEqual(await a.exited, { kind: "normal" });
    assert.deepEqual(rec.records("market.ticks").map((t) => t.key), ["AAPL", "MSFT"]);
    const [dead] = rec.records("dlq");
    assert.ok(dead);
    assert.equal(new TextDecoder().decode(dead.value as Uint8Array), "AAPL,1704207601000,abc");
    assert.equal(dead.headers?.["dlq.stage"], "source");
    assert.equal(dead.headers?.["dlq.error.class"], "MalformedPayloadError");
    assert.match(dead.headers?.["dlq.error.message"] ?? "", /line 3: field price/);
    assert.equal(dead.headers?.["dlq.agent"], "t/replay");
    assert.equal(dead.headers?.["dlq.source.topic"], "replay.file");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("replay of a file outside its read grant is refused by Deno: the actor crashes", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/secret.jsonl`;
  await Deno.writeTextFile(path, "");
  try {
    const rec = recorder();
    const a = await start({ path, speed: 0 }, rec.publish, SAMPLE_TICKS_PATH);
    assert.deepEqual(a.permissions.read, [SAMPLE_TICKS_PATH]);
    const exit = await a.exited;
    assert.ok(exit.kind === "crashed");
    const error = exit.error;
    assert.ok(error instanceof ActorCrashError);
    assert.equal(error.remoteName, "NotCapable");
    assert.match(error.message, /Requires read access/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
