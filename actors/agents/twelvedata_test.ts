import assert from "node:assert/strict";
import { ActorHandle } from "../../supervisor/actor_handle.ts";
import type { Bar, Tick } from "../sources/market_record.ts";
import { startFakeTwelveData } from "../../tests/fakes/twelvedata_fake.ts";
import { metric, type Recorder, recorder, waitFor } from "./_test_helpers.ts";
import { specPermissions } from "../runtime/agent_spec.ts";
import * as agent from "./twelvedata.ts";

const MODULE = new URL("./twelvedata.ts", import.meta.url);

/** Starts the agent the way the pipeline does: its spec computes its permissions from the config. */
function start(path: string, config: Record<string, unknown>, publish: Recorder["publish"]) {
  return ActorHandle.start({
    path,
    module: MODULE,
    config,
    publish,
  });
}

const subscribed = (received: unknown[]) =>
  received.some((m) => (m as { action?: string }).action === "subscribe");

Deno.test("grants are exactly the REST and stream hosts of the config; real endpoints by default", () => {
  assert.deepEqual(specPermissions(agent.spec, {}), {
    net: ["api.twelvedata.com:443", "ws.twelvedata.com:443"],
  });
  assert.equal(agent.spec.name, "twelvedata");
  assert.throws(() => agent.TwelveDataConfig.parse({ wsUrl: "http://x" }), /ws\(s\) URL/);
});

Deno.test("twelvedata agent: quote snapshot and bars over REST, then stream ticks; partial subscribe failure counted; malformed event dead-lettered", async () => {
  const fake = startFakeTwelveData({ apiKey: "k", unknownSymbols: ["FAKE"] });
  const rec = recorder();
  try {
    const a = await start("t/td", {
      apiKey: "k",
      url: fake.restUrl,
      wsUrl: fake.wsUrl,
      symbols: ["AAPL", "EUR/USD", "FAKE"],
      topics: { tick: "ticks", bar: "bars" },
      deadLetterTopic: "dlq",
      backfill: { interval: "1min", outputsize: 2 },
      lingerMs: 5,
    }, rec.publish);
    assert.deepEqual(a.permissions.net, [new URL(fake.restUrl).host]);
    await fake.waitFor(() => subscribed(fake.received) && fake.openSockets === 1);
    await waitFor(() => rec.records("ticks").length === 3); // the snapshot
    fake.price("AAPL", 190.5);
    fake.price("EUR/USD", 1.0801);
    fake.sendRaw("{oops");
    await waitFor(() => rec.records("ticks").length === 5 && rec.records("dlq").length === 1);
    await a.stop(2000);
    assert.deepEqual(await a.exited, { kind: "shutdown" });

    const ticks = rec.records("ticks");
    assert.deepEqual(ticks.map((t) => t.key), ["AAPL", "EUR-USD", "FAKE", "AAPL", "EUR-USD"]);
    assert.equal((ticks[0]!.value as Tick).price, 185.64, "the quote's close, parsed from a string");
    assert.equal((ticks[4]!.value as Tick).bid, 1.0801 - 0.0001);
    assert.ok(ticks.every((t) => t.headers?.source === "twelvedata" && t.headers["correlation-id"]));

    const bars = rec.records("bars");
    assert.equal(bars.length, 6, "2 bars for each of 3 symbols");
    assert.ok((bars[0]!.value as Bar).ts < (bars[1]!.value as Bar).ts, "oldest first");

    const [dead] = rec.records("dlq");
    assert.equal(new TextDecoder().decode(dead!.value as Uint8Array), "{oops");
    assert.equal(dead!.headers?.["dlq.source.topic"], "twelvedata.ws");
    assert.equal(dead!.headers?.["dlq.stage"], "source");
    assert.equal(dead!.headers?.["dlq.agent"], "t/td");
    assert.match(dead!.headers?.["dlq.error.message"] ?? "", /not JSON/);

    assert.equal(await metric("source_subscribe_failures_total", { actor: "t/td" }), 1);
    assert.equal(fake.requests.length, 6, "3 quotes + 3 time_series, each with the key");
    assert.ok(fake.requests.every((r) => r.authorization === "apikey k"));
  } finally {
    await fake.close();
  }
});

Deno.test("a refused API key makes run() reject: the actor crashes with the upstream's message", async () => {
  const fake = startFakeTwelveData({ apiKey: "right" });
  try {
    const a = await start(
      "t/td-auth",
      { apiKey: "wrong", url: fake.restUrl, wsUrl: fake.wsUrl },
      recorder().publish,
    );
    const exit = await a.exited;
    assert.ok(exit.kind === "crashed");
    assert.equal(exit.reason, "run_failed");
    assert.match(
      exit.error.message,
      /twelvedata: GET \/quote AAPL failed \(HTTP 200, code 401\): \*\*apikey\*\*/,
    );
    assert.equal(fake.connections, 0, "no stream was opened");
  } finally {
    await fake.close();
  }
});

Deno.test("an unknown symbol's REST error skips that symbol only", async () => {
  const fake = startFakeTwelveData();
  const rec = recorder();
  try {
    fake.failNext("not-found-404");
    const a = await start("t/td-404", {
      url: fake.restUrl,
      wsUrl: fake.wsUrl,
      symbols: ["NOPE", "AAPL"],
      stream: false,
      lingerMs: 5,
    }, rec.publish);
    assert.deepEqual(await a.exited, { kind: "normal" });
    assert.deepEqual(rec.records("market.ticks").map((t) => t.key), ["AAPL"]);
  } finally {
    await fake.close();
  }
});

Deno.test("twelvedata agent: a restart resumes from its source offset — backfilled bars are not published again", async () => {
  const fake = startFakeTwelveData({});
  const saved: unknown[] = [];
  const sourceOffsets = {
    load: () => Promise.resolve(saved.at(-1)),
    save: (p: unknown) => (saved.push(structuredClone(p)), Promise.resolve()),
  };
  const config = {
    url: fake.restUrl,
    wsUrl: fake.wsUrl,
    symbols: ["AAPL"],
    topics: { tick: "ticks", bar: "bars" },
    snapshot: false,
    stream: false,
    backfill: { interval: "1min", outputsize: 3 },
    lingerMs: 5,
  };
  try {
    const runs: Recorder[] = [];
    for (let i = 0; i < 2; i++) {
      const rec = recorder();
      runs.push(rec);
      const a = await ActorHandle.start({
        path: "t/td-resume",
        module: MODULE,
        config,
        publish: rec.publish,
        sourceOffsets,
      });
      assert.deepEqual(
        await a.exited,
        { kind: "normal" },
        "without the stream, the run ends after the backfill",
      );
    }
    assert.equal(runs[0]!.records("bars").length, 3);
    assert.equal(runs[1]!.records("bars").length, 0, "the bars saved in the offset are not published again");
    assert.ok(Object.keys((saved.at(-1) as agent.TwelveDataOffset).backfill).includes("AAPL~1min"));
  } finally {
    await fake.close();
  }
});
