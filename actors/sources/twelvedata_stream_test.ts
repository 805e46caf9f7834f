import assert from "node:assert/strict";
import { TwelveDataStream, type TwelveDataStreamOptions } from "./twelvedata_stream.ts";
import type { Tick } from "./market_record.ts";
import type { MalformedPayloadError } from "./malformed_payload_error.ts";
import { type FakeTwelveData, startFakeTwelveData } from "../../tests/fakes/twelvedata_fake.ts";
import { CircuitBreaker } from "../shared/circuit_breaker.ts";
import { MALFORMED, MemoryMetrics, RECONNECTS, SUBSCRIBE_FAILURES } from "../shared/source_metrics.ts";

interface Harness {
  fake: FakeTwelveData;
  ticks: Tick[];
  malformed: MalformedPayloadError[];
  metrics: MemoryMetrics;
  stream: TwelveDataStream;
  stop(): Promise<void>;
}

function harness(
  fakeOptions: Parameters<typeof startFakeTwelveData>[0] = {},
  options: Partial<TwelveDataStreamOptions> = {},
): Harness {
  const fake = startFakeTwelveData(fakeOptions);
  const ticks: Tick[] = [];
  const malformed: MalformedPayloadError[] = [];
  const metrics = new MemoryMetrics();
  const controller = new AbortController();
  const stream = new TwelveDataStream({
    url: fake.wsUrl,
    apiKey: "key",
    symbols: ["AAPL", "EUR/USD", "BTC-USD"],
    heartbeatMs: 50,
    backoff: { initialMs: 30, maxMs: 100 },
    breaker: new CircuitBreaker({ name: "test", failureThreshold: 100 }),
    metrics,
    onRecord: (r) => void (r.kind === "tick" && ticks.push(r.value)),
    onMalformed: (_raw, e) => malformed.push(e),
    ...options,
  });
  const done = stream.run(controller.signal);
  return {
    fake,
    ticks,
    malformed,
    metrics,
    stream,
    async stop() {
      controller.abort();
      await done.catch(() => {});
      await fake.close();
    },
  };
}

const subscribes = (fake: FakeTwelveData) =>
  fake.received.filter((m) => (m as { action?: string }).action === "subscribe") as {
    params: { symbols: string };
  }[];
const heartbeats = (fake: FakeTwelveData) =>
  fake.received.filter((m) => (m as { action?: string }).action === "heartbeat").length;

Deno.test("twelvedata stream: subscribes, sends heartbeats, turns price events into ticks", async () => {
  const h = harness();
  try {
    await h.fake.waitFor(() => subscribes(h.fake).length === 1);
    assert.equal(subscribes(h.fake)[0]!.params.symbols, "AAPL,EUR/USD,BTC/USD");
    h.fake.price("AAPL", 190.5);
    h.fake.price("EUR/USD", 1.0876);
    await h.fake.waitFor(() => h.ticks.length === 2);
    const [aapl, eur] = h.ticks;
    assert.deepEqual({ ...aapl, ts: 0 }, {
      symbol: "AAPL",
      source: "twelvedata",
      exchange: "NASDAQ",
      ts: 0,
      price: 190.5,
      bid: null,
      ask: null,
      volume: 1234,
    });
    assert.ok(Math.abs(aapl!.ts - Date.now()) < 5000);
    assert.equal(eur!.symbol, "EUR-USD");
    assert.ok(eur!.bid! < 1.0876 && eur!.ask! > 1.0876);
    await h.fake.waitFor(() => heartbeats(h.fake) >= 3, 1000);
    assert.equal(h.fake.connections, 1);
  } finally {
    await h.stop();
  }
});

Deno.test("twelvedata stream: subscribe-status with partial failures is logged and counted; the rest flows", async () => {
  const h = harness({}, { symbols: ["AAPL", "FAKE"] });
  try {
    await h.fake.waitFor(() => h.metrics.get(SUBSCRIBE_FAILURES, { source: "twelvedata" }) === 1);
    assert.deepEqual(h.stream.failedSymbols, ["FAKE"]);
    h.fake.price("AAPL", 191);
    await h.fake.waitFor(() => h.ticks.length === 1);
    assert.equal(h.fake.connections, 1, "a partial failure does not reconnect");
  } finally {
    await h.stop();
  }
});

Deno.test("twelvedata stream: unanswered heartbeats force a reconnect, then it resubscribes", async () => {
  const h = harness();
  try {
    await h.fake.waitFor(() => subscribes(h.fake).length === 1);
    h.fake.setHeartbeatReplies(false);
    await h.fake.waitFor(() => h.fake.connections === 2 && subscribes(h.fake).length === 2, 3000);
    assert.equal(h.metrics.get(RECONNECTS, { source: "twelvedata", reason: "heartbeat" }), 1);
    h.fake.setHeartbeatReplies(true);
    h.fake.price("AAPL", 192);
    await h.fake.waitFor(() => h.ticks.length === 1);
  } finally {
    await h.stop();
  }
});

Deno.test("twelvedata stream: a dropped connection reconnects with backoff and resubscribes", async () => {
  const h = harness();
  try {
    await h.fake.waitFor(() => subscribes(h.fake).length === 1 && h.fake.openSockets === 1);
    h.fake.dropAll();
    await h.fake.waitFor(() => subscribes(h.fake).length === 2 && h.fake.openSockets === 1, 3000);
    h.fake.price("BTC/USD", 65000);
    await h.fake.waitFor(() => h.ticks.length === 1);
    assert.equal(h.ticks[0]!.symbol, "BTC-USD");
    assert.equal(h.metrics.get(RECONNECTS, { source: "twelvedata", reason: "closed" }), 1);
  } finally {
    await h.stop();
  }
});

Deno.test("twelvedata stream: a fourth socket on the key closes the oldest; the stream reconnects", async () => {
  const h = harness();
  const others: WebSocket[] = [];
  try {
    await h.fake.waitFor(() => subscribes(h.fake).length === 1 && h.fake.openSockets === 1);
    for (let i = 0; i < 3; i++) {
      const ws = new WebSocket(`${h.fake.wsUrl}?apikey=key`);
      others.push(ws);
      await new Promise((r) => (ws.onopen = r));
    }
    // The stream's socket was the oldest: closed by the fake, then the stream reconnects and resubscribes.
    await h.fake.waitFor(() => subscribes(h.fake).length === 2, 3000);
    assert.ok(h.fake.connections >= 5);
    assert.ok(h.metrics.get(RECONNECTS, { source: "twelvedata", reason: "closed" }) >= 1);
  } finally {
    for (const ws of others) ws.close();
    await h.stop();
  }
});

Deno.test("twelvedata stream: malformed events are counted and reported, the stream goes on", async () => {
  const h = harness();
  try {
    await h.fake.waitFor(() => subscribes(h.fake).length === 1 && h.fake.openSockets === 1);
    h.fake.sendRaw("]]");
    h.fake.send({ event: "price", symbol: "AAPL", timestamp: 1, price: "12.5" });
    h.fake.price("AAPL", 193);
    await h.fake.waitFor(() => h.ticks.length === 1 && h.malformed.length === 2);
    assert.match(h.malformed[0]!.message, /^twelvedata ws event: not JSON/);
    assert.equal(
      h.malformed[1]!.message,
      'twelvedata ws event "price": field price: expected number, got "12.5"',
    );
    assert.equal(h.metrics.get(MALFORMED, { source: "twelvedata" }), 2);
  } finally {
    await h.stop();
  }
});
