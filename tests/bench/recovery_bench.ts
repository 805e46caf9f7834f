/**
 * `deno task bench recovery`: how long a node takes to write again after it was SIGKILLed and restarted with the
 * same configuration, and after its broker was restarted — the median of `rounds` of each, beside baselines
 * measured in the same run:
 *
 * - **SIGKILL → sinks writing again**: a running node (`main.ts start`: synthetic source → Kafka → postgres-sink,
 *   2 instances, one consumer group) is killed with SIGKILL — its member never leaves the group — and started
 *   again at once; the time runs from the kill to the first new row in PostgreSQL. Baseline: the same after a
 *   clean stop (SIGTERM; the member leaves the group at once), i.e. the node's own start-up to writing.
 * - **broker back → consuming again**: the broker is stopped (SIGTERM), left down for `downMs`, and started
 *   again; the time runs from the moment its port accepts connections to the first new row. Baseline: from the
 *   same moment to the broker answering a metadata request from a fresh client (the broker's own start-up).
 *
 * It uses a broker of its own (a single KRaft node from the test services' Kafka jars, on free loopback ports),
 * the embedded schema registry, and PostgreSQL from `DATABASE_URL` (or the test-services launcher). Every wait is
 * bounded; whatever it started is stopped before it returns.
 *
 * @module
 */
import { join } from "node:path";
import postgres from "postgres";
import { RestartableKafka } from "../services/restartable_kafka.ts";
import { spawnStart, type StartedProcess } from "../e2e/_pipeline_harness.ts";

/** Options of the recovery benchmark. */
export interface RecoveryBenchOptions {
  /** PostgreSQL the sink writes to. */
  databaseUrl: string;
  /** Measurements of each kind (default 5). */
  rounds?: number;
  /** How long the broker stays down (default 5000 ms). */
  downMs?: number;
  progress(message: string): void;
}

/** One measured figure and its baseline, each the median over the rounds, in ms. */
export interface RecoveryFigure {
  name: string;
  samplesMs: number[];
  medianMs: number;
  baseline: { name: string; samplesMs: number[]; medianMs: number };
}

const WAIT_MS = 120_000;

/** Runs the benchmark and returns its report (a text table) and the figures. */
export async function recoveryBench(
  options: RecoveryBenchOptions,
): Promise<{ report: string; figures: RecoveryFigure[] }> {
  const rounds = options.rounds ?? 5;
  const downMs = options.downMs ?? 5000;
  const say = options.progress;
  const dir = await Deno.makeTempDir({ prefix: "qistream-bench-recovery-" });
  const id = `${Date.now().toString(36)}${crypto.randomUUID().slice(0, 6)}`;
  const table = `bench_recovery_${id}`;
  const sql = postgres(options.databaseUrl, { max: 1, onnotice: () => {} });
  let broker: RestartableKafka | undefined;
  let node: StartedProcess | undefined;
  let exited = false;
  try {
    say("starting a broker of its own");
    broker = await RestartableKafka.start(join(dir, "broker"), say);
    const file = join(dir, "pipeline.yaml");
    await Deno.writeTextFile(file, pipelineYaml(id, join(dir, "data"), table));
    const env = {
      KAFKA_BROKERS: broker.address,
      DATABASE_URL: options.databaseUrl,
      QISTREAM_LOG_LEVEL: "warning",
    };
    const rows = async () => {
      const [row] = await sql`SELECT count(*)::int AS n FROM ${sql(table)}`.catch(() => [{ n: 0 }]);
      return row!.n as number;
    };
    /** Resolves with the time (ms since the epoch) the row count first exceeds `after`. */
    const firstNewRow = async (after: number, what: string) => {
      const deadline = Date.now() + WAIT_MS;
      for (;;) {
        if ((await rows()) > after) return Date.now();
        if (Date.now() > deadline) {
          throw new Error(`no new row within ${WAIT_MS} ms ${what}:\n${tailOf(node)}`);
        }
        if (exited) throw new Error(`the node stopped by itself:\n${tailOf(node)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };

    const start = () => {
      const started = spawnStart(["--config", file], env);
      exited = false;
      void started.status.then(() => {
        if (node === started) exited = true;
      });
      return started;
    };
    node = start();
    await firstNewRow(0, "after the first start");
    say("the node writes; measuring");

    const killed: number[] = [];
    const clean: number[] = [];
    for (let round = 1; round <= rounds; round++) {
      for (const [signal, samples] of [["SIGKILL", killed], ["SIGTERM", clean]] as const) {
        await firstNewRow(await rows(), "before stopping the node"); // it is writing
        const stoppedAt = Date.now();
        const stopping = node;
        node = undefined;
        stopping.child.kill(signal);
        await stopping.status;
        await stopping.reading;
        const before = await rows();
        node = start();
        const back = await firstNewRow(before, `after ${signal}`);
        samples.push(back - stoppedAt);
        say(`round ${round}: ${signal} → writing again in ${back - stoppedAt} ms`);
      }
    }

    const brokerBack: number[] = [];
    const brokerReady: number[] = [];
    for (let round = 1; round <= rounds; round++) {
      await firstNewRow(await rows(), "before stopping the broker");
      await broker.stop();
      await new Promise((r) => setTimeout(r, downMs));
      const before = await rows();
      const upAt = await broker.start();
      const [answered, wrote] = await Promise.all([
        broker.answersMetadata(),
        firstNewRow(before, "after the broker"),
      ]);
      brokerBack.push(wrote - upAt);
      brokerReady.push(answered - upAt);
      say(
        `round ${round}: broker back → writing again in ${wrote - upAt} ms (broker answers in ${
          answered - upAt
        } ms)`,
      );
    }

    const figures: RecoveryFigure[] = [
      figure("SIGKILL → sinks writing again", killed, "clean stop (SIGTERM) → writing again", clean),
      figure(
        "broker back → consuming again",
        brokerBack,
        "broker back → broker answers metadata",
        brokerReady,
      ),
    ];
    return { report: formatFigures(figures, rounds), figures };
  } finally {
    await node?.kill();
    await broker?.stop();
    await sql.unsafe(`DROP TABLE IF EXISTS ${table}`).catch(() => {});
    await sql.end();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

function pipelineYaml(id: string, dataDir: string, table: string): string {
  return `
node: { name: bench-recovery, dataDir: ${dataDir}, http: { port: 0 }, deadLetterTopic: bench.dlq.${id} }
topics:
  bench.ticks.${id}: { partitions: 6, schema: market.tick }
  bench.dlq.${id}: { partitions: 1 }
agents:
  synthetic:
    kind: synthetic
    publish: [bench.ticks.${id}]
    config: { topics: { tick: bench.ticks.${id} }, symbols: [BTC-USD, ETH-USD, AAPL, MSFT, EUR-USD], ratePerSecond: 100 }
  pg:
    kind: postgres-sink
    instances: 2
    subscribe: { topics: [bench.ticks.${id}], group: bench.pg.${id} }
    batch: { maxRecords: 200, maxWaitMs: 20 }
    config: { table: ${table} }
`;
}

function tailOf(node: StartedProcess | undefined): string {
  return node?.output().slice(-3000) ?? "";
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function figure(
  name: string,
  samplesMs: number[],
  baselineName: string,
  baselineMs: number[],
): RecoveryFigure {
  return {
    name,
    samplesMs,
    medianMs: median(samplesMs),
    baseline: { name: baselineName, samplesMs: baselineMs, medianMs: median(baselineMs) },
  };
}

function formatFigures(figures: RecoveryFigure[], rounds: number): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const lines = figures.flatMap((f) => [
    `${f.name}: median ${s(f.medianMs)} (${f.samplesMs.map(s).join(", ")})`,
    `  baseline, ${f.baseline.name}: median ${s(f.baseline.medianMs)} (${
      f.baseline.samplesMs.map(s).join(", ")
    })` +
    ` — ratio ${(f.medianMs / f.baseline.medianMs).toFixed(2)}×`,
  ]);
  return [`Recovery, median of ${rounds} (loopback, one broker, one node)`, ...lines].join("\n");
}
