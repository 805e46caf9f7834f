import assert from "node:assert/strict";
import { EmbeddedConnector } from "../connector/embedded/mod.ts";
import { DashboardFeed, type FeedEvent } from "./dashboard_feed.ts";

/** The record-event shape, loosely. */
type Rec = {
  value: Record<string, unknown> & { id?: string; symbol?: string };
  headers: Record<string, string>;
};
const rec = (e: FeedEvent) => e.data as Rec;
const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

/** Reads SSE frames from a feed response until `enough` says so (or 10 s pass). */
async function readUntil(response: Response, enough: (events: FeedEvent[]) => boolean): Promise<FeedEvent[]> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: FeedEvent[] = [];
  let buffer = "";
  const deadline = Date.now() + 10_000;
  try {
    while (!enough(events)) {
      if (Date.now() > deadline) {
        throw new Error(`not enough events: ${JSON.stringify(events.map((e) => e.type))}`);
      }
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event: Partial<FeedEvent> & { raw: string } = { raw: "" };
        for (const line of block.split("\n")) {
          if (line.startsWith("id: ")) event.id = line.slice(4);
          if (line.startsWith("event: ")) event.type = line.slice(7) as FeedEvent["type"];
          if (line.startsWith("data: ")) event.data = JSON.parse(line.slice(6));
        }
        if (event.type) events.push(event as FeedEvent);
      }
    }
  } finally {
    await reader.cancel();
  }
  return events;
}

Deno.test({
  name:
    "dashboard feed: alerts, insights and dead letters from the stream; Last-Event-ID resumes, another boot resets",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "qistream-feed-" });
    const connector = new EmbeddedConnector({ dataDir, autoCreateTopics: true });
    await connector.connect();
    const feed = new DashboardFeed({
      connector,
      decode: (value) => Promise.resolve(JSON.parse(new TextDecoder().decode(value))),
      state: () => ({ tree: null }),
      topics: { prices: ["t.ticks"], alerts: ["t.alerts"], insights: ["t.insights"], deadLetters: ["t.dlq"] },
      intervalMs: 100,
      priceSampleMs: 0,
    });
    try {
      for (const t of ["t.ticks", "t.alerts", "t.insights", "t.dlq"]) {
        await connector.admin.createTopics([{ name: t, partitions: 1, replicationFactor: 1, config: {} }]);
      }
      // Published before the feed starts: alerts are read from the beginning, prices from the end.
      await connector.publish("t.alerts", [{
        key: "BTC-USD",
        value: json({
          id: "a1",
          ts: 1,
          symbol: "BTC-USD",
          rule: "price_move",
          severity: "CRITICAL",
          extra: 7,
        }),
        headers: { "correlation-id": "c-1" },
      }]);
      await connector.publish("t.ticks", [{
        key: "BTC-USD",
        value: json({ symbol: "BTC-USD", price: 1, ts: 1 }),
      }]);
      await feed.start();
      await connector.publish("t.insights", [{
        key: "a1",
        value: json({ id: "i1", alertId: "a1", title: "why" }),
      }]);
      await connector.publish("t.dlq", [{
        key: null,
        value: json({ bad: true }),
        headers: { "dlq.agent": "sink", "dlq.stage": "sink", "dlq.error.class": "RowsRefusedError" },
      }]);

      const first = await readUntil(
        feed.handle(new Request("http://x/api/events")),
        (events) => ["alert", "insight", "deadletter"].every((t) => events.some((e) => e.type === t)),
      );
      assert.equal(first[0]!.type, "reset", "a first connection starts with a reset");
      const alert = rec(first.find((e) => e.type === "alert")!);
      assert.equal(alert.value.extra, 7, "unknown fields are kept");
      assert.equal(alert.headers["correlation-id"], "c-1", "provenance headers are kept");
      const dead = rec(first.find((e) => e.type === "deadletter")!);
      assert.equal(dead.value.errorClass, "RowsRefusedError");
      assert.equal(dead.value.agent, "sink");
      assert.ok(!first.some((e) => e.type === "price"), "prices published before the start are not replayed");

      const lastId = first.filter((e) => e.id).at(-1)!.id!;
      await connector.publish("t.ticks", [{
        key: "ETH-USD",
        value: json({ symbol: "ETH-USD", price: 2, ts: 2 }),
      }]);
      await connector.publish("t.alerts", [{ key: "ETH-USD", value: json({ id: "a2", symbol: "ETH-USD" }) }]);
      await readUntil(
        feed.handle(new Request("http://x/api/events")),
        (events) => events.some((e) => e.type === "alert" && rec(e).value.id === "a2"),
      );
      const resumed = await readUntil(
        feed.handle(new Request("http://x/api/events", { headers: { "last-event-id": lastId } })),
        (events) => events.some((e) => e.type === "state"),
      );
      const records = resumed.filter((e) => e.id);
      assert.ok(!resumed.some((e) => e.type === "reset"), "a resume does not reset");
      assert.deepEqual(
        records.map((e) => [e.type, rec(e).value.id ?? rec(e).value.symbol]),
        [["price", "ETH-USD"], ["alert", "a2"]],
        "only what was missed, in order",
      );

      const foreign = await readUntil(
        feed.handle(new Request("http://x/api/events", { headers: { "last-event-id": "other.3" } })),
        (events) => events.some((e) => e.type === "state"),
      );
      assert.equal(foreign[0]!.type, "reset", "an id of another boot resets");
      assert.equal(foreign.filter((e) => e.type === "alert").length, 2);
    } finally {
      await feed.stop();
      await connector.close();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
