import assert from "node:assert/strict";
import { CryptoCompareStream, type CryptoCompareStreamOptions } from "./cryptocompare_stream.ts";
import type { MarketRecord, Tick, Trade } from "./market_record.ts";
import type { MalformedPayloadError } from "./malformed_payload_error.ts";
import { type FakeCryptoCompare, startFakeCryptoCompare } from "../../tests/fakes/cryptocompare_fake.ts";
import { CircuitBreaker } from "../shared/circuit_breaker.ts";
import {
  MALFORMED,
  MemoryMetrics,
  RECONNECTS,
  SEQUENCE_GAPS,
  SUBSCRIBE_FAILURES,
} from "../shared/source_metrics.ts";
import { UpstreamError } from "../shared/upstream_error.ts";
import type { SocketStatus } from "../shared/reconnecting_websocket.ts";

interface Harness {
  fake: FakeCryptoCompare;
  records: MarketRecord[];
  malformed: MalformedPayloadError[];
  statuses: SocketStatus[];
  metrics: MemoryMetrics;
  stream: CryptoCompareStream;
  done: Promise<void>;
  stop(): Promise<void>;
}

const TRADES = "0~Coinbase~BTC~USD";
const AGG = "5~CCCAGG~BTC~USD";

function harness(
  fakeOptions: Parameters<typeof startFakeCryptoCompare>[0] = {},
  options: Partial<CryptoCompareStreamOptions> = {},
): Harness {
  const fake = startFakeCryptoCompare({ heartbeatMs: 100, ...fakeOptions });
  const records: MarketRecord[] = [];
  const malformed: MalformedPayloadError[] = [];
  const statuses: SocketStatus[] = [];
  const metrics = new MemoryMetrics();
  const controller = new AbortController();
  const stream = new CryptoCompareStream({
    url: fake.wsUrl,
    subscriptions: [TRADES, AGG],
    heartbeatIntervalMs: 100,
    minReconnectMs: 50,
    backoff: { initialMs: 50, maxMs: 200 },
    breaker: new CircuitBreaker({ name: "test", failureThreshold: 100 }),
    metrics,
    onRecord: (r) => void records.push(r),
    onMalformed: (_raw, e) => malformed.push(e),
    onStatus: (s) => statuses.push(s),
    ...options,
  });
  const done = stream.run(controller.signal);
  return {
    fake,
    records,
    malformed,
    statuses,
    metrics,
    stream,
    done,
    async stop() {
      controller.abort();
      await done.catch(() => {});
      await fake.close();
    },
  };
}

const subAdds = (fake: FakeCryptoCompare) =>
  fake.received.filter((m) => (m as { action?: string }).action === "SubAdd") as { subs: string[] }[];
const ticks = (h: Harness) => h.records.filter((r) => r.kind === "tick").map((r) => r.value as Tick);
const trades = (h: Harness) => h.records.filter((r) => r.kind === "trade").map((r) => r.value as Trade);

Deno.test("cryptocompare stream: subscribes, normalises trades, merges partial ticker deltas onto the snapshot", async () => {
  const h = harness();
  try {
    await h.fake.waitFor(() => subAdds(h.fake).length === 1);
    assert.deepEqual(subAdds(h.fake)[0]!.subs, [TRADES, AGG]);
    await h.fake.waitFor(() => h.fake.openSockets === 1);
    h.fake.trade(TRADES, { P: 65000.5, Q: 0.25, F: "1" });
    h.fake.ticker(AGG, {
      PRICE: 65000,
      BID: 64999,
      ASK: 65001,
      LASTUPDATE: 1_700_000_000,
      VOLUME24HOUR: 1234,
    });
    h.fake.ticker(AGG, { BID: 64998.5 }); // delta: only the bid changed
    h.fake.ticker(AGG, { PRICE: 65010, LASTUPDATE: 1_700_000_005 });
    await h.fake.waitFor(() => ticks(h).length === 3 && trades(h).length === 1);
    const [t] = trades(h);
    assert.equal(t!.symbol, "BTC-USD");
    assert.equal(t!.exchange, "Coinbase");
    assert.equal(t!.price, 65000.5);
    assert.equal(t!.size, 0.25);
    assert.equal(t!.side, "SELL");
    assert.equal(t!.tradeId, "1001");
    const [a, b, c] = ticks(h);
    assert.deepEqual(
      { ...a, ts: 0 },
      {
        symbol: "BTC-USD",
        source: "cryptocompare",
        exchange: "CCCAGG",
        ts: 0,
        price: 65000,
        bid: 64999,
        ask: 65001,
        volume: 1234,
      },
    );
    assert.equal(a!.ts, 1_700_000_000_000);
    assert.deepEqual([b!.price, b!.bid, b!.ask, b!.volume], [65000, 64998.5, 65001, 1234]);
    assert.deepEqual([c!.price, c!.bid, c!.ts], [65010, 64998.5, 1_700_000_005_000]);
  } finally {
    await h.stop();
  }
});

Deno.test("cryptocompare stream: OHLC frames become bars", async () => {
  const h = harness({}, { subscriptions: ["24~CCCAGG~BTC~USD~m"] });
  try {
    await h.fake.waitFor(() => h.fake.openSockets === 1 && subAdds(h.fake).length === 1);
    h.fake.send({
      TYPE: "24",
      MARKET: "CCCAGG",
      FROMSYMBOL: "BTC",
      TOSYMBOL: "USD",
      TS: 1_700_000_040,
      UNIT: "m",
      ACTION: "U",
      OPEN: 1,
      HIGH: 3,
      LOW: 0.5,
      CLOSE: 2,
      VOLUMEFROM: 7,
      VOLUMETO: 14,
      TOTALTRADES: 9,
    });
    await h.fake.waitFor(() => h.records.length === 1);
    assert.deepEqual(h.records[0], {
      kind: "bar",
      value: {
        symbol: "BTC-USD",
        source: "cryptocompare",
        exchange: "CCCAGG",
        interval: "1m",
        ts: 1_700_000_040_000,
        open: 1,
        high: 3,
        low: 0.5,
        close: 2,
        volume: 7,
        trades: 9,
      },
    });
  } finally {
    await h.stop();
  }
});

Deno.test("cryptocompare stream: two missed heartbeats force a reconnect, then it resubscribes", async () => {
  const h = harness();
  try {
    await h.fake.waitFor(() => h.fake.openSockets === 1);
    h.fake.setHeartbeats(false);
    const stoppedAt = performance.now();
    await h.fake.waitFor(() => h.fake.connections === 2 && subAdds(h.fake).length === 2, 3000);
    const took = performance.now() - stoppedAt;
    assert.ok(took >= 200, `reconnected after ${took} ms, before two heartbeats were missed`);
    assert.deepEqual(subAdds(h.fake)[1]!.subs, [TRADES, AGG]);
    assert.equal(h.metrics.get(RECONNECTS, { source: "cryptocompare", reason: "heartbeat" }), 1);
    const waits = h.statuses.filter((s) => s.type === "waiting") as { delayMs: number }[];
    assert.ok(waits[0]!.delayMs >= 50, "waits at least minReconnectMs");
    h.fake.setHeartbeats(true);
  } finally {
    await h.stop();
  }
});

Deno.test("cryptocompare stream: a dropped connection reconnects, resubscribes, and replayed trades are not duplicated", async () => {
  const h = harness();
  try {
    await h.fake.waitFor(() => h.fake.openSockets === 1 && subAdds(h.fake).length === 1);
    for (let i = 0; i < 3; i++) h.fake.trade(TRADES, { P: 100 + i, Q: 1 });
    await h.fake.waitFor(() => trades(h).length === 3);
    h.fake.dropAll();
    await h.fake.waitFor(() => h.fake.openSockets === 1 && subAdds(h.fake).length === 2, 3000);
    // The fake replays the last trades on subscribe; the client already has them.
    h.fake.trade(TRADES, { P: 200, Q: 1 });
    await h.fake.waitFor(() => trades(h).some((t) => t.price === 200));
    assert.deepEqual(trades(h).map((t) => t.price), [100, 101, 102, 200]);
    assert.equal(h.metrics.get(SEQUENCE_GAPS, { source: "cryptocompare" }), 0);
  } finally {
    await h.stop();
  }
});

Deno.test("cryptocompare stream: a CCSEQ gap is counted and the trades are resubscribed", async () => {
  const h = harness();
  try {
    await h.fake.waitFor(() => h.fake.openSockets === 1 && subAdds(h.fake).length === 1);
    h.fake.trade(TRADES, { P: 1, Q: 1 });
    h.fake.trade(TRADES, { P: 2, Q: 1, skip: 3 });
    await h.fake.waitFor(() => h.stream.sequenceGaps === 1 && subAdds(h.fake).length === 2);
    const removes = h.fake.received.filter((m) => (m as { action?: string }).action === "SubRemove");
    assert.deepEqual(removes, [{ action: "SubRemove", subs: [TRADES] }]);
    assert.deepEqual(subAdds(h.fake)[1]!.subs, [TRADES]);
    assert.equal(h.metrics.get(SEQUENCE_GAPS, { source: "cryptocompare" }), 1);
    assert.deepEqual(trades(h).map((t) => t.price), [1, 2]);
    assert.equal(h.fake.connections, 1, "a gap resubscribes; it does not reconnect");
  } finally {
    await h.stop();
  }
});

Deno.test("cryptocompare stream: malformed frames are counted and reported, the stream goes on", async () => {
  const h = harness();
  try {
    await h.fake.waitFor(() => h.fake.openSockets === 1 && subAdds(h.fake).length === 1);
    h.fake.sendRaw("{not json");
    h.fake.send({
      TYPE: "0",
      M: "Coinbase",
      FSYM: "BTC",
      TSYM: "USD",
      F: "2",
      TS: 1,
      Q: 1,
      P: "abc",
      CCSEQ: 1,
    });
    h.fake.send({ MESSAGE: "no type" });
    h.fake.trade(TRADES, { P: 5, Q: 1 });
    await h.fake.waitFor(() => trades(h).length === 1 && h.malformed.length === 3);
    assert.match(h.malformed[0]!.message, /^cryptocompare ws frame: not JSON/);
    assert.equal(
      h.malformed[1]!.message,
      'cryptocompare ws frame TYPE "0": field P: expected number, got "abc"',
    );
    assert.equal(h.malformed[2]!.message, "cryptocompare ws frame: field TYPE: expected string, got nothing");
    assert.equal(h.metrics.get(MALFORMED, { source: "cryptocompare" }), 3);
    assert.equal(h.fake.connections, 1);
  } finally {
    await h.stop();
  }
});

Deno.test("cryptocompare stream: TYPE 401 ends the run with an auth error", async () => {
  const h = harness({ apiKey: "right" }, { apiKey: "wrong" });
  try {
    await assert.rejects(h.done, (e) => e instanceof UpstreamError && e.kind === "auth" && !e.retriable);
    assert.equal(h.fake.connections, 1);
  } finally {
    await h.stop();
  }
});

Deno.test("cryptocompare stream: TYPE 429 too many sockets backs off and reconnects once a socket is free", async () => {
  const fake = startFakeCryptoCompare({ heartbeatMs: 100, maxSockets: 1 });
  const blocker = new WebSocket(fake.wsUrl);
  await new Promise((r) => (blocker.onopen = r));
  const h = harness({}, { url: fake.wsUrl });
  try {
    await fake.waitFor(() => fake.connections >= 3, 3000); // refused at least twice
    assert.ok(h.metrics.get(RECONNECTS, { source: "cryptocompare", reason: "rate_limited" }) >= 1);
    blocker.close();
    await fake.waitFor(() => fake.openSockets === 1 && subAdds(fake).length === 1, 3000);
  } finally {
    blocker.close();
    await h.stop();
    await fake.close();
  }
});

Deno.test("cryptocompare stream: INVALID_SUB is counted; the valid subscriptions still flow", async () => {
  const h = harness({}, { subscriptions: ["9~nonsense", TRADES] });
  try {
    await h.fake.waitFor(() => h.metrics.get(SUBSCRIBE_FAILURES, { source: "cryptocompare" }) === 1);
    h.fake.trade(TRADES, { P: 3, Q: 1 });
    await h.fake.waitFor(() => trades(h).length === 1);
  } finally {
    await h.stop();
  }
});
