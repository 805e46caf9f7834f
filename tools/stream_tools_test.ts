import assert from "node:assert/strict";
import { EmbeddedConnector } from "../connector/embedded/mod.ts";
import type { PartitionBatch } from "../connector/types.ts";
import { connectTestClient } from "./_test_client.ts";
import { streamTools } from "./stream_tools.ts";

Deno.test("stream tools publish, list topics and report per-partition lag of a group (embedded log)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "qistream-stream-tools-" });
  const connector = new EmbeddedConnector({ dataDir: dir, fsync: false });
  await connector.connect();
  await connector.admin.createTopics([
    { name: "market.ticks", partitions: 3, replicationFactor: 1, config: { "retention.ms": "60000" } },
  ]);
  const t = await connectTestClient(streamTools({ connector, publishTopics: ["market.ticks"] }));
  try {
    const records = Array.from(
      { length: 30 },
      (_, i) => ({ key: `SYM${i % 5}`, value: JSON.stringify({ i }) }),
    );
    const pub = await t.call("stream.publish", { topic: "market.ticks", records });
    const acked = pub.records as { partition: number; offset: string }[];
    assert.equal(acked.length, 30);
    const perPartition = [0, 1, 2].map((p) => acked.filter((r) => r.partition === p).length);
    assert.equal(perPartition.reduce((a, b) => a + b, 0), 30);

    const refused = await t.raw("stream.publish", { topic: "other", records: [{ key: null, value: "x" }] });
    assert.equal(refused.isError, true);

    const list = await t.call("stream.list_topics", {});
    const topic = (list.topics as { name: string; partitions: number; config: Record<string, string> }[])
      .find((x) => x.name === "market.ticks")!;
    assert.equal(topic.partitions, 3);
    assert.equal(topic.config["retention.ms"], "60000");

    // a group consumes partition by partition and commits 2 records of each partition it sees
    const seen = new Set<number>();
    const sub = await connector.subscribe({
      group: "sink",
      topics: ["market.ticks"],
      fromBeginning: true,
      onBatch: async (b: PartitionBatch) => {
        if (seen.has(b.partition) || b.records.length < 2) return;
        seen.add(b.partition);
        await sub.commit(b.topic, b.partition, b.records[1]!.offset);
      },
    });
    const deadline = Date.now() + 5000;
    const nonEmpty = perPartition.filter((n) => n >= 2).length;
    while (seen.size < nonEmpty && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await sub.close();

    const stats = await t.call("stream.topic_stats", { topic: "market.ticks", group: "sink" });
    const parts = stats.partitions as {
      partition: number;
      high: string;
      committed: string | null;
      lag: number;
    }[];
    assert.deepEqual(parts.map((p) => p.partition), [0, 1, 2]);
    for (const p of parts) {
      assert.equal(p.high, String(perPartition[p.partition]));
      if (perPartition[p.partition]! >= 2) {
        assert.equal(p.committed, "2");
        assert.equal(p.lag, perPartition[p.partition]! - 2);
      }
    }
    assert.equal(stats.messages, 30);
    assert.equal(stats.totalLag, parts.reduce((s, p) => s + (p.lag ?? 0), 0));
    // A group that never committed has every retained record to consume: lag counts from the low watermark.
    const never = await t.call("stream.topic_stats", { topic: "market.ticks", group: "never-consumed" });
    assert.equal(never.totalLag, 30, `a never-committed group lags by everything: ${JSON.stringify(never)}`);
    for (const p of never.partitions as { committed: string | null; lag: number; high: string }[]) {
      assert.equal(p.committed, null);
      assert.equal(p.lag, Number(p.high));
    }
    const noGroup = await t.call("stream.topic_stats", { topic: "market.ticks" });
    assert.equal(noGroup.totalLag, null);
  } finally {
    await t.close();
    await connector.close();
    await Deno.remove(dir, { recursive: true });
  }
});
