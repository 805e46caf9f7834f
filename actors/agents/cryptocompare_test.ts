import assert from "node:assert/strict";
import { ActorHandle } from "../../supervisor/actor_handle.ts";
import type { Bar, Tick, Trade } from "../sources/market_record.ts";
import { startFakeCryptoCompare } from "../../tests/fakes/cryptocompare_fake.ts";
import { metric, type Recorder, recorder, waitFor, withPermissions } from "./_test_helpers.ts";
import { specPermissions } from "../runtime/agent_spec.ts";
import * as agent from "./cryptocompare.ts";

const MODULE = new URL("./cryptocompare.ts", import.meta.url);
const AGG = "5~CCCAGG~BTC~USD";
const TRADES = "0~Coinbase~BTC~USD";

/** Starts the agent the way the pipeline does: its spec computes its permissions from the config. */
function start(path: string, config: Record<string, unknown>, publish: Recorder["publish"]) {
  return ActorHandle.start({
    path,
    module: MODULE,
    config,
    publish,
  });
}

Deno.test("grants are exactly the REST and stream hosts of the config; real endpoints by default", () => {
  assert.deepEqual(specPermissions(agent.spec, {}), {
    net: ["min-api.cryptocompare.com:443", "streamer.cryptocompare.com:443"],
  });
  assert.deepEqual(
    specPermissions(
      agent.spec,
      { url: "http://127.0.0.1:9/x", wsUrl: "ws://127.0.0.1:9/v2" },
    ),
    { net: ["127.0.0.1:9"] },
  );
  assert.equal(agent.spec.name, "cryptocompare");
  assert.deepEqual(
    agent.subscriptionsOf(agent.CryptoCompareConfig.parse({ pairs: ["BTC-USD", "sol-eur"] })),
    [
      "5~CCCAGG~BTC~USD",
      "5~CCCAGG~SOL~EUR",
    ],
  );
  assert.deepEqual(agent.subscriptionsOf(agent.CryptoCompareConfig.parse({})), [AGG, "5~CCCAGG~ETH~USD"]);
  assert.throws(() => agent.CryptoCompareConfig.parse({ pairs: ["BTCUSD"] }), /expected BASE-QUOTE/);
  const parsed = agent.CryptoCompareConfig.parse({ apiKey: "" });
  assert.equal(parsed.apiKey, undefined, "an empty key (unset variable) is no key");
  assert.equal(parsed.topics.tick, "market.ticks");
  assert.equal(parsed.deadLetterTopic, "market.dead-letter");
});

Deno.test("cryptocompare agent: backfill bars, stream ticks and trades keyed by symbol; a malformed frame is dead-lettered", async () => {
  const fake = startFakeCryptoCompare({ apiKey: "k", heartbeatMs: 100 });
  const rec = recorder();
  try {
    const a = await start("t/cc", {
      apiKey: "k",
      url: fake.restUrl,
      wsUrl: fake.wsUrl,
      subscriptions: [AGG, TRADES],
      topics: { tick: "ticks", trade: "trades", bar: "bars" },
      deadLetterTopic: "dlq",
      backfill: { pairs: [{ fsym: "BTC", tsym: "USD", unit: "hour" }], bars: 5 },
      heartbeatIntervalMs: 100,
      minReconnectMs: 20,
      lingerMs: 5,
    }, rec.publish);
    const host = new URL(fake.restUrl).host;
    assert.deepEqual(a.permissions.net, [host], "the Worker may reach the fake's host:port and nothing else");
    await fake.waitFor(() => fake.openSockets === 1 && fake.received.length > 0);
    fake.ticker(AGG, { PRICE: 65_000, LASTUPDATE: 1_700_000_000, BID: 64_999, ASK: 65_001 });
    fake.ticker(AGG, { PRICE: 65_010 }); // a delta: only the changed field
    fake.trade(TRADES, { P: 65_005, Q: 0.1 });
    fake.sendRaw('{"TYPE":"0","M":"Coinbase","FSYM":"BTC","TSYM":"USD","P":"abc"}');
    await waitFor(() =>
      rec.records("ticks").length === 2 && rec.records("trades").length === 1 &&
      rec.records("dlq").length === 1
    );
    await a.stop(2000);
    assert.deepEqual(await a.exited, { kind: "shutdown" });

    const bars = rec.records("bars");
    assert.equal(bars.length, 5);
    assert.ok(bars.every((b) => b.key === "BTC-USD" && (b.value as Bar).interval === "1h"));
    assert.equal(new Set(bars.map((b) => b.headers?.["correlation-id"])).size, 1, "one id per backfill");

    const ticks = rec.records("ticks");
    assert.deepEqual(ticks.map((t) => (t.value as Tick).price), [65_000, 65_010]);
    assert.equal((ticks[1]!.value as Tick).bid, 64_999, "the delta merged onto the snapshot");
    assert.ok(ticks.every((t) => t.key === "BTC-USD" && t.headers?.source === "cryptocompare"));
    assert.notEqual(ticks[0]!.headers?.["correlation-id"], ticks[1]!.headers?.["correlation-id"]);
    const [trade] = rec.records("trades");
    assert.equal((trade!.value as Trade).price, 65_005);

    const [dead] = rec.records("dlq");
    assert.ok(dead!.value instanceof Uint8Array, "the raw frame, not Avro");
    assert.equal(
      new TextDecoder().decode(dead!.value as Uint8Array),
      '{"TYPE":"0","M":"Coinbase","FSYM":"BTC","TSYM":"USD","P":"abc"}',
    );
    assert.deepEqual(
      {
        stage: dead!.headers?.["dlq.stage"],
        cls: dead!.headers?.["dlq.error.class"],
        agent: dead!.headers?.["dlq.agent"],
        topic: dead!.headers?.["dlq.source.topic"],
      },
      { stage: "source", cls: "MalformedPayloadError", agent: "t/cc", topic: "cryptocompare.ws" },
    );
    assert.match(dead!.headers?.["dlq.error.message"] ?? "", /field P: expected number/);
    assert.equal(await metric("source_malformed_total", { actor: "t/cc" }), 1);
    assert.equal(
      await metric("source_dead_letters_total", { actor: "t/cc", upstream: "cryptocompare.ws" }),
      1,
    );
  } finally {
    await fake.close();
  }
});

Deno.test("records of a kind without a topic are dropped and counted", async () => {
  const fake = startFakeCryptoCompare({ heartbeatMs: 100 });
  const rec = recorder();
  try {
    const a = await start("t/cc-notopic", {
      url: fake.restUrl,
      wsUrl: fake.wsUrl,
      subscriptions: [TRADES],
      heartbeatIntervalMs: 100,
      lingerMs: 5,
    }, rec.publish);
    await fake.waitFor(() => fake.openSockets === 1 && fake.received.length > 0);
    fake.trade(TRADES, { P: 1, Q: 1 });
    fake.trade(TRADES, { P: 2, Q: 1 });
    const dropped = () =>
      metric("source_records_dropped_total", { actor: "t/cc-notopic", kind: "trade", reason: "no_topic" });
    await waitFor(async () => (await dropped()) === 2, 30_000); // both trades were handled: dropped, counted
    await a.stop(2000);
    assert.equal(rec.records("market.ticks").length, 0, "nothing published for a kind without a topic");
    assert.equal(await dropped(), 2);
  } finally {
    await fake.close();
  }
});

Deno.test("a refused API key makes run() reject: the actor crashes with the upstream's message", async () => {
  const fake = startFakeCryptoCompare({ apiKey: "right", heartbeatMs: 100 });
  try {
    const a = await start("t/cc-auth", {
      apiKey: "wrong",
      url: fake.restUrl,
      wsUrl: fake.wsUrl,
      minReconnectMs: 20,
    }, recorder().publish);
    const exit = await a.exited;
    assert.ok(exit.kind === "crashed");
    assert.equal(exit.reason, "run_failed");
    assert.match(exit.error.message, /cryptocompare: stream refused the API key \(TYPE 401\)/);
  } finally {
    await fake.close();
  }
});

Deno.test("the Worker cannot reach a host outside its grants", async () => {
  const granted = startFakeCryptoCompare();
  const other = startFakeCryptoCompare();
  try {
    // Granted for `granted`, but configured (as a compromised or buggy agent would behave) to call `other`.
    const config = {
      url: other.restUrl,
      wsUrl: other.wsUrl,
      stream: false,
      backfill: { pairs: [{ fsym: "BTC", tsym: "USD" }], bars: 3 },
      retry: { attempts: 1 },
    };
    const a = await ActorHandle.start({
      path: "t/cc-net",
      module: withPermissions(
        MODULE,
        specPermissions(agent.spec, { url: granted.restUrl, wsUrl: granted.wsUrl }),
      ),
      config,
      publish: recorder().publish,
    });
    const exit = await a.exited;
    assert.ok(exit.kind === "crashed");
    assert.match(exit.error.message, new RegExp(`Requires net access to "${new URL(other.restUrl).host}"`));
    assert.equal(other.requests.length, 0, "no request reached the other host");
  } finally {
    await granted.close();
    await other.close();
  }
});

/** An in-memory source offset store, as the node's (one position per actor). */
function memoryOffsets() {
  const saved: unknown[] = [];
  return {
    saved,
    store: {
      load: () => Promise.resolve(saved.at(-1)),
      save: (position: unknown) => (saved.push(structuredClone(position)), Promise.resolve()),
    },
  };
}

Deno.test("cryptocompare agent: after a reconnect the gap is backfilled from the REST minute history", async () => {
  const fake = startFakeCryptoCompare({ heartbeatMs: 100, now: Math.floor(Date.now() / 1000) });
  const rec = recorder();
  try {
    const a = await start("t/cc-gap", {
      url: fake.restUrl,
      wsUrl: fake.wsUrl,
      subscriptions: [AGG],
      topics: { tick: "ticks", bar: "bars" },
      heartbeatIntervalMs: 100,
      minReconnectMs: 20,
      lingerMs: 5,
    }, rec.publish);
    await fake.waitFor(() => fake.openSockets === 1 && fake.received.length > 0);
    fake.ticker(AGG, { PRICE: 65_000, LASTUPDATE: Math.floor(Date.now() / 1000) });
    await waitFor(() => rec.records("ticks").length === 1);
    assert.equal(fake.requests.length, 0, "no REST call before a gap");
    fake.dropAll();
    await fake.waitFor(() => fake.connections >= 2, 5000);
    await waitFor(() => rec.records("bars").length > 0, 5000);
    const [request] = fake.requests;
    assert.equal(request?.path, "/data/v2/histominute");
    assert.deepEqual([request?.params.fsym, request?.params.tsym], ["BTC", "USD"]);
    const bars = rec.records("bars").map((b) => b.value as Bar);
    assert.ok(bars.every((b) => b.symbol === "BTC-USD" && b.interval === "1m"), JSON.stringify(bars));
    await a.stop(2000);
  } finally {
    await fake.close();
  }
});

Deno.test("cryptocompare agent: a restart resumes from its source offset — replayed trades and backfilled bars are not published again", async () => {
  const fake = startFakeCryptoCompare({ heartbeatMs: 100 });
  const offsets = memoryOffsets();
  const config = {
    url: fake.restUrl,
    wsUrl: fake.wsUrl,
    subscriptions: [TRADES],
    topics: { tick: "ticks", trade: "trades", bar: "bars" },
    backfill: { pairs: [{ fsym: "BTC", tsym: "USD", unit: "hour" }], bars: 5 },
    heartbeatIntervalMs: 100,
    minReconnectMs: 20,
    lingerMs: 5,
  };
  try {
    const first = recorder();
    const a = await ActorHandle.start({
      path: "t/cc-resume",
      module: MODULE,
      config,
      publish: first.publish,
      sourceOffsets: offsets.store,
    });
    await fake.waitFor(() => fake.openSockets === 1 && fake.received.length > 0);
    for (const P of [1, 2, 3]) fake.trade(TRADES, { P, Q: 1 });
    await waitFor(() => first.records("trades").length === 3 && first.records("bars").length === 5);
    await a.stop(2000);
    const last = offsets.saved.at(-1) as agent.CryptoCompareOffset;
    assert.equal(last.stream?.seq["Coinbase~BTC~USD"], 3, JSON.stringify(last));
    assert.equal(Object.keys(last.backfill).length, 1);

    const second = recorder();
    const b = await ActorHandle.start({
      path: "t/cc-resume",
      module: MODULE,
      config,
      publish: second.publish,
      sourceOffsets: offsets.store,
    });
    await fake.waitFor(() => fake.openSockets === 1 && fake.received.length > 1);
    fake.trade(TRADES, { P: 4, Q: 1 }); // the three before it are replayed on subscribe
    await waitFor(() => second.records("trades").length >= 1);
    await b.stop(2000);
    assert.deepEqual(second.records("trades").map((t) => (t.value as Trade).price), [4]);
    assert.equal(second.records("bars").length, 0, "the saved bars are not backfilled again");
    assert.ok(
      fake.requests.some((r) => r.path === "/data/v2/histominute"),
      "the restart gap was asked of the minute history",
    );
  } finally {
    await fake.close();
  }
});
