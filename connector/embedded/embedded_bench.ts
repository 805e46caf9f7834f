/**
 * Throughput of the embedded log on this machine: publish and consume records/s for ~200-byte records.
 * Run: `deno run -A connector/embedded/embedded_bench.ts [records] [batch] [concurrency]`.
 *
 * @module
 */

import { EmbeddedConnector } from "./embedded_connector.ts";

/** One measurement. */
export interface EmbeddedBenchResult {
  records: number;
  recordBytes: number;
  batch: number;
  concurrency: number;
  fsync: boolean;
  publishPerSec: number;
  consumePerSec: number;
}

/**
 * Publishes `records` records of ~200 bytes (in `batch`-sized calls, `concurrency` calls at a time) to a fresh
 * 6-partition topic, then consumes them all with one group from the beginning.
 *
 * @returns Records per second for both phases.
 */
export async function benchEmbedded(
  options: { records?: number; batch?: number; concurrency?: number; fsync?: boolean } = {},
): Promise<EmbeddedBenchResult> {
  const records = options.records ?? 200_000;
  const batch = options.batch ?? 100;
  const concurrency = options.concurrency ?? 4;
  const fsync = options.fsync ?? true;
  const dataDir = await Deno.makeTempDir({ prefix: "qistream-bench-" });
  const connector = new EmbeddedConnector({ dataDir, fsync });
  try {
    await connector.connect();
    await connector.admin.createTopics([{ name: "bench", partitions: 6, replicationFactor: 1, config: {} }]);
    const value = new Uint8Array(190).map((_, i) => i);
    let next = 0;
    const started = performance.now();
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < records) {
        const n = Math.min(batch, records - next);
        const first = next;
        next += n;
        await connector.publish(
          "bench",
          Array.from({ length: n }, (_, i) => ({ key: `SYM-${(first + i) % 500}`, value })),
        );
      }
    }));
    const publishSeconds = (performance.now() - started) / 1000;

    let consumed = 0;
    let done!: () => void;
    const finished = new Promise<void>((resolve) => done = resolve);
    const consumeStarted = performance.now();
    await connector.subscribe({
      group: "bench",
      topics: ["bench"],
      fromBeginning: true,
      onBatch(b) {
        consumed += b.records.length;
        if (consumed >= records) done();
      },
    });
    await finished;
    const consumeSeconds = (performance.now() - consumeStarted) / 1000;
    return {
      records,
      recordBytes: value.length + 10,
      batch,
      concurrency,
      fsync,
      publishPerSec: Math.round(records / publishSeconds),
      consumePerSec: Math.round(records / consumeSeconds),
    };
  } finally {
    await connector.close();
    await Deno.remove(dataDir, { recursive: true });
  }
}

if (import.meta.main) {
  const [records, batch, concurrency] = Deno.args.map(Number);
  for (const fsync of [true, false]) {
    console.log(JSON.stringify(await benchEmbedded({ records, batch, concurrency, fsync })));
  }
  console.log(JSON.stringify(await benchEmbedded({ records: 5000, batch: 1, concurrency: 1 })));
  console.log(JSON.stringify(await benchEmbedded({ records: 20000, batch: 1, concurrency: 64 })));
}
