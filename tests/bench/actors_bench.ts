/**
 * `deno task bench actors`: records per second through dispatch → actor → ack (the dispatcher fed by an
 * in-memory source, and by the embedded log), beside raw `postMessage` round trips to plain Workers with the
 * same batches and the same window, measured in the same run; and restart time from a crash to the next batch
 * processed (median and p99).
 *
 * @module
 */
import { EmbeddedConnector } from "../../connector/embedded/mod.ts";
import type { ConsumedRecord, StreamConnector } from "../../connector/types.ts";
import { actorChild } from "../../supervisor/actor_child.ts";
import type { ActorHandle } from "../../supervisor/actor_handle.ts";
import { Dispatcher } from "../../supervisor/dispatcher.ts";
import { Supervisor } from "../../supervisor/supervisor.ts";
import { type BenchResult, type BenchRow, formatBenchTable, perSecond } from "./bench_report.ts";
import { syntheticSource } from "./_synthetic_source.ts";

/** Options of the actors benchmark. */
export interface ActorsBenchOptions {
  /** Records per throughput measurement. */
  records: number;
  /** Records per batch. */
  batch: number;
  /** Actor instances (and plain Workers for the baseline). */
  instances: number;
  /** Unacked batches per actor. */
  creditWindow: number;
  /** Crashes to time. */
  crashes: number;
  progress(message: string): void;
}

const NOOP = new URL("./_noop_agent.ts", import.meta.url);
const PARTITIONS = 4;
const VALUE_BYTES = 200;
const ROUNDS = 2;

/** Runs the benchmark and returns the report. */
export async function actorsBench(o: ActorsBenchOptions): Promise<BenchResult> {
  // The machine is shared and noisy: each rate is measured in two rounds, interleaved, and the best kept.
  let raw = 0, synthetic = 0, embedded = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    o.progress(`round ${round}/${ROUNDS}: raw postMessage, ${o.records} records to ${o.instances} Workers`);
    raw = Math.max(raw, await rawPostMessage(o));
    o.progress(`round ${round}/${ROUNDS}: dispatch → actor → ack, in-memory source`);
    synthetic = Math.max(synthetic, await dispatchSynthetic(o));
    o.progress(`round ${round}/${ROUNDS}: dispatch → actor → ack, embedded log`);
    embedded = Math.max(embedded, await dispatchEmbedded(o));
  }
  o.progress(`restart time over ${o.crashes} crashes`);
  const restarts = await restartTimes(o);
  const baseline = { name: `raw postMessage round trip, same batches and window`, rate: raw };
  const rows: BenchRow[] = [
    { name: "dispatch → actor → ack (in-memory source)", rate: synthetic, unit: "records/s", baseline },
    { name: "embedded log → dispatch → actor → ack", rate: embedded, unit: "records/s", baseline },
    { name: "raw postMessage (baseline)", rate: raw, unit: "records/s", note: "Worker echoes each batch id" },
  ];
  const ms = (v: number) => `${v.toFixed(1)} ms`;
  const report = [
    formatBenchTable(
      `actors: ${o.records} records of ${VALUE_BYTES} B, ${o.batch} per batch, ${o.instances} instances, ` +
        `credit window ${o.creditWindow}, ${PARTITIONS} partitions (best of ${ROUNDS} rounds)`,
      rows,
    ),
    "",
    `restart, crash → next batch acked by the new incarnation (${restarts.length} crashes): ` +
    `median ${ms(percentile(restarts, 0.5))}, p99 ${ms(percentile(restarts, 0.99))}, ` +
    `max ${ms(Math.max(...restarts))}`,
  ].join("\n");
  return { report, rows };
}

/** Plain Workers echo batch ids; the main thread keeps `creditWindow` batches in flight per Worker. */
async function rawPostMessage(o: ActorsBenchOptions): Promise<number> {
  const source = `onmessage = (e) => postMessage(e.data.id);`;
  const workers = Array.from(
    { length: o.instances },
    (_, i) =>
      new Worker(`data:application/javascript,${encodeURIComponent(source)}`, {
        type: "module",
        name: `raw-${i}`,
        deno: { permissions: "none" },
      }),
  );
  const value = new Uint8Array(VALUE_BYTES).fill(120);
  const batches = Math.ceil(o.records / o.batch);
  let next = 0;
  const makeBatch = (id: number) => {
    const records: ConsumedRecord[] = [];
    for (let i = 0; i < o.batch; i++) {
      records.push({
        topic: "t",
        partition: 0,
        offset: String(id * o.batch + i),
        key: null,
        value,
        headers: {},
        timestamp: 0,
      });
    }
    return { type: "batch", id: String(id), records };
  };
  // Warm up each Worker once.
  await Promise.all(workers.map((w) =>
    new Promise<void>((r) => {
      w.onmessage = () => r();
      w.postMessage(makeBatch(-1));
    })
  ));
  const start = performance.now();
  await Promise.all(workers.map((w) =>
    new Promise<void>((resolve) => {
      let inflight = 0;
      const pump = () => {
        while (inflight < o.creditWindow && next < batches) {
          w.postMessage(makeBatch(next++));
          inflight++;
        }
        if (inflight === 0) resolve();
      };
      w.onmessage = () => {
        inflight--;
        pump();
      };
      pump();
    })
  ));
  const elapsed = performance.now() - start;
  for (const w of workers) w.terminate();
  return perSecond(batches * o.batch, elapsed);
}

interface Running {
  dispatcher: Dispatcher;
  root: Supervisor;
  acked(): number;
  stop(): Promise<void>;
}

async function startDispatch(
  connector: StreamConnector,
  o: ActorsBenchOptions,
  extra: { fromBeginning?: boolean; onStarted?: (id: string, h: ActorHandle) => void } = {},
): Promise<Running> {
  const ids = Array.from({ length: o.instances }, (_, i) => `noop-${i}`);
  const dispatcher = new Dispatcher({
    connector,
    agent: "noop",
    topics: ["bench.in"],
    instances: ids,
    deadLetterTopic: "bench.dead-letter",
    fromBeginning: extra.fromBeginning ?? true,
    maxBatchRecords: o.batch,
  });
  const root = await Supervisor.start({
    id: "bench",
    intensity: o.crashes + 10,
    periodMs: 600_000,
    backoff: { minMs: 0, maxMs: 0, jitter: 0 },
    children: ids.map((id) =>
      actorChild({
        id,
        module: NOOP,
        creditWindow: o.creditWindow,
        onStarted: (h) => {
          dispatcher.attach(id, h);
          extra.onStarted?.(id, h);
        },
      })
    ),
  });
  return {
    dispatcher,
    root,
    acked: () => dispatcher.stats.recordsAcked,
    async stop() {
      await dispatcher.close(1000);
      await root.stop();
    },
  };
}

async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

async function dispatchSynthetic(o: ActorsBenchOptions): Promise<number> {
  const perPartition = Math.ceil(o.records / PARTITIONS);
  const { connector } = syntheticSource({
    partitions: PARTITIONS,
    recordsPerPartition: perPartition,
    batchRecords: o.batch,
    valueBytes: VALUE_BYTES,
  });
  const run = await startDispatch(connector, o);
  const start = performance.now();
  await run.dispatcher.start();
  await waitFor(() => run.acked() >= perPartition * PARTITIONS, 600_000, "all records acked");
  const elapsed = performance.now() - start;
  await run.stop();
  return perSecond(perPartition * PARTITIONS, elapsed);
}

async function dispatchEmbedded(o: ActorsBenchOptions): Promise<number> {
  const dataDir = await Deno.makeTempDir({ prefix: "qistream-bench-actors-" });
  const connector = new EmbeddedConnector({ dataDir, fsync: false, maxBatchRecords: o.batch });
  try {
    await connector.connect();
    await connector.admin.createTopics([
      { name: "bench.in", partitions: PARTITIONS, replicationFactor: 1, config: {} },
    ]);
    const value = new Uint8Array(VALUE_BYTES).fill(120);
    for (let i = 0; i < o.records; i += 1000) {
      const n = Math.min(1000, o.records - i);
      await connector.publish(
        "bench.in",
        Array.from({ length: n }, (_, j) => ({ key: `k${(i + j) % 64}`, value })),
      );
    }
    const run = await startDispatch(connector, o);
    const start = performance.now();
    await run.dispatcher.start();
    await waitFor(() => run.acked() >= o.records, 600_000, "all records acked");
    const elapsed = performance.now() - start;
    await run.stop();
    return perSecond(o.records, elapsed);
  } finally {
    await connector.close();
    await Deno.remove(dataDir, { recursive: true });
  }
}

/**
 * Kills the running incarnation (as a crash does: the Worker is gone, its batches unacked) and times until
 * the next incarnation acks a batch — supervisor restart (backoff 0), Worker start, redelivery, processing.
 */
async function restartTimes(o: ActorsBenchOptions): Promise<number[]> {
  const { connector } = syntheticSource({
    partitions: 1,
    recordsPerPartition: Infinity,
    batchRecords: o.batch,
    valueBytes: VALUE_BYTES,
  });
  let firstAck: (() => void) | undefined;
  const one = { ...o, instances: 1 };
  const run = await startDispatch(connector, one, {
    onStarted: (_id, h) => {
      const off = h.on("ack", () => {
        off();
        firstAck?.();
      });
    },
  });
  await run.dispatcher.start();
  const times: number[] = [];
  try {
    await waitFor(() => run.acked() > 0, 10_000, "the first ack");
    for (let i = 0; i < o.crashes; i++) {
      const victim = run.dispatcher.handle("noop-0")!;
      const acked = new Promise<void>((r) => (firstAck = r));
      const t0 = performance.now();
      victim.kill();
      await acked;
      times.push(performance.now() - t0);
      await waitFor(() => run.dispatcher.handle("noop-0")?.state === "running", 10_000, "a running actor");
    }
  } finally {
    await run.stop();
  }
  return times;
}

function percentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
}
