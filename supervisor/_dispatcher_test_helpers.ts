// Shared helpers of the dispatcher's tests (not exported from mod.ts).
import type { ConsumedRecord, StreamConnector, Subscription } from "../connector/types.ts";
import { Dispatcher, type DispatcherOptions } from "./dispatcher.ts";
import { Supervisor } from "./supervisor.ts";
import { waitFor } from "../tests/wait_for.ts";

export const SINK = new URL("../tests/agents/dispatch_sink.ts", import.meta.url);
export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
export const text = (b: Uint8Array | null): string => b === null ? "" : new TextDecoder().decode(b);

/** Waits until `check` returns true (the shared `waitFor`), or fails after `timeoutMs`. */
export function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = "condition") {
  return waitFor(check, what, { timeoutMs });
}

/** Creates topics with the given partition counts. */
export async function createTopics(
  connector: StreamConnector,
  topics: Record<string, number>,
): Promise<void> {
  await connector.admin.createTopics(
    Object.entries(topics).map(([name, partitions]) => ({
      name,
      partitions,
      replicationFactor: 1,
      config: {},
    })),
  );
}

/**
 * Publishes `count` records with values `k<i % keys>:<i>` keyed `k<i % keys>`, `chunk` per call.
 *
 * @returns The values, in publish order.
 */
export async function publishSeq(
  connector: StreamConnector,
  topic: string,
  count: number,
  opts: { keys?: number; chunk?: number; value?: (i: number, key: string) => string } = {},
): Promise<string[]> {
  const keys = opts.keys ?? 50, chunk = opts.chunk ?? 200;
  const values: string[] = [];
  for (let i = 0; i < count; i += chunk) {
    const records = [];
    for (let j = i; j < Math.min(count, i + chunk); j++) {
      const key = `k${j % keys}`;
      const value = opts.value?.(j, key) ?? `${key}:${j}`;
      values.push(value);
      records.push({ key, value: bytes(value), headers: { "correlation-id": `c-${j}` } });
    }
    await connector.publish(topic, records);
  }
  return values;
}

/** Reads every record of a topic (up to its current high watermarks) through a fresh group. */
export async function readAll(connector: StreamConnector, topic: string, timeoutMs = 20_000) {
  const offsets = await connector.offsets(topic);
  const expected = offsets.reduce((n, o) => n + Number(BigInt(o.high) - BigInt(o.low)), 0);
  const seen: ConsumedRecord[] = [];
  const sub = await connector.subscribe({
    group: `read-${crypto.randomUUID()}`,
    topics: [topic],
    fromBeginning: true,
    onBatch: (b) => void seen.push(...b.records),
  });
  try {
    await until(
      () => seen.length >= expected,
      timeoutMs,
      `${expected} records of ${topic} (have ${seen.length})`,
    );
  } finally {
    await sub.close();
  }
  return seen;
}

/** Waits until the group's committed offsets reach the high watermark of every partition. */
export async function allCommitted(
  connector: StreamConnector,
  topic: string,
  group: string,
  timeoutMs = 20_000,
) {
  await until(
    async () => {
      const offsets = await connector.offsets(topic, group);
      return offsets.every((o) => o.committed === o.high);
    },
    timeoutMs,
    `group ${group} committed all of ${topic}`,
  );
}

/** A dispatcher, its supervised instances of the dispatch sink, and a way to stop both. */
export interface Pipeline {
  dispatcher: Dispatcher;
  root: Supervisor;
  stop(): Promise<void>;
}

/** Starts a dispatcher over `n` instances of the dispatch sink under a tolerant one_for_one root. */
export async function startPipeline(
  options: Omit<DispatcherOptions, "instances"> & {
    instances?: number;
    out: string;
    delayMs?: number;
    creditWindow?: number;
  },
): Promise<Pipeline> {
  const { out, delayMs = 0, creditWindow = 4, instances = 2, ...rest } = options;
  const ids = Array.from({ length: instances }, (_, i) => `${options.agent}-${i}`);
  const dispatcher = new Dispatcher({ ...rest, instances: ids });
  const root = await Supervisor.start({
    id: options.agent,
    intensity: 50,
    periodMs: 5000,
    backoff: { minMs: 1, maxMs: 20 },
    children: dispatcher.children({ module: SINK, config: { out, delayMs }, creditWindow }),
  });
  await dispatcher.start();
  return {
    dispatcher,
    root,
    async stop() {
      await dispatcher.close(2000);
      await root.stop();
    },
  };
}

/**
 * The crash scenario shared by the embedded and Kafka tests: 4 partitions, 2 instances; instance 0 is killed
 * mid-stream, twice. Checks that every record reached the sink, that duplicates are at most the redelivered
 * records, and that the group committed everything.
 */
export async function crashMidStream(
  connector: StreamConnector,
  names: { in: string; out: string; dlq: string; group: string },
  assert: { ok(v: unknown, m?: string): void; equal(a: unknown, b: unknown, m?: string): void },
): Promise<void> {
  await createTopics(connector, { [names.in]: 4, [names.out]: 4, [names.dlq]: 1 });
  const values = await publishSeq(connector, names.in, 4000, { keys: 100 });
  const p = await startPipeline({
    connector,
    agent: names.group,
    topics: [names.in],
    deadLetterTopic: names.dlq,
    fromBeginning: true,
    instances: 2,
    out: names.out,
    maxBatchRecords: 25,
    delayMs: 2,
  });
  try {
    const id = `${names.group}-0`;
    for (const at of [800, 2000]) {
      await until(() => p.dispatcher.stats.recordsAcked >= at, 30_000, `${at} records acked`);
      const victim = p.dispatcher.handle(id);
      await until(
        () => (p.dispatcher.handle(id)?.inflight ?? 0) > 0,
        5000,
        "batches in flight on the victim",
      );
      p.dispatcher.handle(id)?.kill();
      await victim?.exited;
      await until(() => p.dispatcher.handle(id)?.state === "running", 10_000, "the next incarnation");
    }
    await allCommitted(connector, names.in, names.group, 60_000);
    const out = await readAll(connector, names.out, 60_000);
    const seen = new Set(out.map((r) => text(r.value)));
    assert.equal(seen.size, values.length, "every record reached the sink");
    for (const v of values) assert.ok(seen.has(v), `missing ${v}`);
    // Per-key order: in sink order, each key's first occurrences of its sequence numbers increase
    // (a redelivery may repeat a run of values; it never lets a later value overtake an earlier one).
    const byPartition = Map.groupBy(out, (r) => r.partition);
    for (const records of byPartition.values()) {
      const last = new Map<string, number>();
      const seenValue = new Set<string>();
      for (const r of records.sort((a, b) => Number(BigInt(a.offset) - BigInt(b.offset)))) {
        const value = text(r.value);
        if (seenValue.has(value)) continue;
        seenValue.add(value);
        const [key, seq] = value.split(":") as [string, string];
        assert.ok((last.get(key) ?? -1) < Number(seq), `order of ${key} at the sink`);
        last.set(key, Number(seq));
      }
    }
    const { redeliveredRecords, redeliveredBatches } = p.dispatcher.stats;
    assert.ok(redeliveredBatches > 0, "the kills left unacked batches that were redelivered");
    assert.ok(
      out.length - values.length <= redeliveredRecords,
      `duplicates ${out.length - values.length} exceed redelivered records ${redeliveredRecords}`,
    );
  } finally {
    await p.stop();
  }
}

/** One commit a subscription made. */
export interface CommitCall {
  topic: string;
  partition: number;
  offset: string;
  at: number;
}

/** The connector, with every subscription's commits recorded into `calls`. */
export function recordingCommits(connector: StreamConnector, calls: CommitCall[]): StreamConnector {
  return new Proxy(connector, {
    get(target, prop) {
      if (prop === "subscribe") {
        return async (options: Parameters<StreamConnector["subscribe"]>[0]) => {
          const sub = await target.subscribe(options);
          const recording: Subscription = {
            get group() {
              return sub.group;
            },
            ended: sub.ended,
            health: () => sub.health(),
            assignments: () => sub.assignments(),
            commit(topic: string, partition: number, offset: string) {
              calls.push({ topic, partition, offset, at: performance.now() });
              return sub.commit(topic, partition, offset);
            },
            pause: (tps: Parameters<typeof sub.pause>[0]) => sub.pause(tps),
            resume: (tps: Parameters<typeof sub.resume>[0]) => sub.resume(tps),
            close: () => sub.close(),
          };
          return recording;
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/**
 * The backpressure scenario shared by the embedded and Kafka tests: for 3 s a producer offers ~10 000 records/s
 * to 2 partitions while 2 instances (window 2) take 20 ms per 10-record batch. Checks that batches in flight
 * never exceed window × instances, that the partitions were paused, that at most `maxQueued` batches waited
 * per partition (one fetch), and that the heap stayed flat while the backlog piled up in the log.
 */
export async function fastProducer(
  connector: StreamConnector,
  names: { in: string; out: string; dlq: string; group: string },
  maxQueued: number,
  assert: { ok(v: unknown, m?: string): void },
): Promise<void> {
  await createTopics(connector, { [names.in]: 2, [names.out]: 2, [names.dlq]: 1 });
  const creditWindow = 2, instances = 2;
  const p = await startPipeline({
    connector,
    agent: names.group,
    topics: [names.in],
    deadLetterTopic: names.dlq,
    fromBeginning: true,
    instances,
    creditWindow,
    out: names.out,
    maxBatchRecords: 10,
    delayMs: 20, // ≤ 500 records/s per instance
  });
  try {
    let produced = 0, maxHandles = 0, queued = 0, sawPaused = false;
    const pad = "x".repeat(200);
    const heap0 = Deno.memoryUsage().heapUsed;
    let heapMax = heap0;
    const sampler = setInterval(() => {
      const snap = p.dispatcher.snapshot();
      maxHandles = Math.max(maxHandles, snap.instances.reduce((n, i) => n + i.inflight, 0));
      for (const part of snap.partitions) {
        queued = Math.max(queued, part.queued);
        sawPaused ||= part.paused;
      }
      heapMax = Math.max(heapMax, Deno.memoryUsage().heapUsed);
    }, 5);
    const start = Date.now();
    while (Date.now() - start < 3000) { // ~10 000 records/s offered
      await publishSeq(connector, names.in, 200, { keys: 20, value: (i) => `${produced + i}:${pad}` });
      produced += 200;
      await new Promise((r) => setTimeout(r, 20));
    }
    clearInterval(sampler);
    const { recordsAcked, maxInflight, pauses } = p.dispatcher.stats;
    assert.ok(produced >= 5 * recordsAcked, `produced ${produced}, consumed ${recordsAcked}`);
    assert.ok(maxInflight <= creditWindow * instances, `max in flight ${maxInflight}`);
    assert.ok(maxHandles <= creditWindow * instances, `max in flight (sampled) ${maxHandles}`);
    assert.ok(pauses > 0 && sawPaused, "the partitions were paused");
    assert.ok(queued <= maxQueued, `batches waiting per partition ${queued} (one fetch at most)`);
    const growthMb = (heapMax - heap0) / 2 ** 20;
    assert.ok(
      growthMb < 64,
      `heap grew ${growthMb.toFixed(1)} MiB while ${produced} records piled up in the log`,
    );
  } finally {
    await p.stop();
  }
}
