/**
 * `qistream bench <name>`: runs a benchmark and prints rates beside baselines measured in the same run, as
 * ratios. Benchmarks that need services take them from the environment (`KAFKA_BROKERS`, `DATABASE_URL`,
 * `CLICKHOUSE_URL`, ...) or start the test-services launcher and stop it afterwards; `actors` needs none.
 *
 * @module
 */
import { type Command, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "./command.ts";
import { parseCommandArgs } from "./_parse_command_args.ts";

const USAGE = `Usage: qistream bench <name> [--records N]
       qistream bench --gate

Benchmarks (each prints its baseline, measured in the same run, and the ratio):
  connector   produce/consume of ~200-byte Avro records through the Kafka connector,
              beside Kafka's ProducerPerformance/ConsumerPerformance and a raw kafkajs loop
  actors      records/s through dispatch -> actor -> ack beside raw postMessage to a Worker,
              and restart time from a crash to the next batch processed (median, p99)
  sinks       rows/s from a topic into PostgreSQL, embedded PostgreSQL and ClickHouse through the
              sink actors and MCP tools, beside a plain bulk insert with the same client
  monitor     the market monitor's scorecard (precision, recall, delay per detector on seeded
              synthetic series with injected anomalies), F1/delay on the TCPD bitcoin and apple
              series (river wheel fetched with pip), and ticks/s through the market-monitor actor
              beside the same detectors in a plain loop
  recovery    a node (main.ts start) SIGKILLed and restarted, and its broker restarted: time until
              the sinks write again (median of --rounds), beside a clean stop and the broker's own start
  e2e         latency from publish to row visible in PostgreSQL (and ClickHouse) at sustained rates
              on Kafka (p50/p99/max, max lag), beside a hand-written kafkajs -> INSERT loop
  ask         22 questions with reference SQL over the replayed sample ticks, asked through /api/ask:
              the plumbing's overhead per question with the fake OpenAI server, beside the reference SQL
              sent straight to postgres.query; execution accuracy against a real endpoint when
              OPENAI_API_KEY is set (OPENAI_BASE_URL, OPENAI_MODEL), skipped with that reason otherwise

The gate (--gate) runs short versions of connector, actors, sinks and e2e and fails (exit 1) when a ratio
falls past its limit in tests/bench/gate_floors.json; .ci/run runs it after the tests.

Options:
  --gate            the CI gate (see above)
  --records N       records per measurement (default 200000)
  --batch N         records per publish call (connector, default 500) or per batch (actors, default 100;
                    sinks, default 1000)
  --in-flight N     publish calls in flight (connector, default 8)
  --instances N     actor instances (actors, sinks, default 2)
  --window N        credit window per actor (actors, sinks, default 4)
  --crashes N       crashes timed for the restart figures (actors, default 50)
  --rounds N        measurements of each recovery (recovery, default 5)
  --rates A,B       ticks per second, one run each (e2e, default 1000,10000)
  --seconds N       measured seconds per run after a 5 s warm-up (e2e, default 60)

connector uses KAFKA_BROKERS / SCHEMA_REGISTRY_URL when set; otherwise it starts the test services
(deno task services) and stops them afterwards. actors needs no services. sinks uses DATABASE_URL and
CLICKHOUSE_URL when both are set; otherwise it starts postgres and clickhouse the same way. recovery
starts a broker of its own (it stops and restarts it) and takes PostgreSQL from DATABASE_URL or the launcher.
e2e uses KAFKA_BROKERS, SCHEMA_REGISTRY_URL, DATABASE_URL and CLICKHOUSE_URL when all are set; otherwise
it starts the test services. ask needs no services (embedded log and embedded PostgreSQL).`;

/** `qistream bench`. */
export const benchCommand: Command = {
  name: "bench",
  summary:
    "run a benchmark beside its same-run baseline (connector, actors, sinks, monitor, recovery, e2e, ask)",
  usage: USAGE,
  async run(args) {
    const parsed = parseCommandArgs(args, USAGE, {
      records: { type: "string", default: "200000" },
      batch: { type: "string" },
      "in-flight": { type: "string", default: "8" },
      instances: { type: "string", default: "2" },
      window: { type: "string", default: "4" },
      crashes: { type: "string", default: "50" },
      rounds: { type: "string", default: "5" },
      rates: { type: "string", default: "1000,10000" },
      seconds: { type: "string", default: "60" },
      gate: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    }, true);
    if (typeof parsed === "number") return parsed;
    const { values, positionals } = parsed;
    if (values.gate) return await gate();
    if (positionals.length === 0) {
      console.log(USAGE);
      return EXIT_USAGE;
    }
    const [name] = positionals;
    const numbers = {
      records: Number(values.records),
      batch: Number(values.batch ?? ({ actors: "100", sinks: "1000" }[name ?? ""] ?? "500")),
      inFlight: Number(values["in-flight"]),
      instances: Number(values.instances),
      window: Number(values.window),
      crashes: Number(values.crashes),
      rounds: Number(values.rounds),
      seconds: Number(values.seconds),
    };
    const rates = String(values.rates).split(",").map(Number);
    if (rates.some((r) => !Number.isInteger(r) || r <= 0)) {
      console.error(`--rates: expected positive integers separated by commas, got "${values.rates}"`);
      return EXIT_USAGE;
    }
    for (const [name, value] of Object.entries(numbers)) {
      if (!Number.isInteger(value) || value <= 0) {
        console.error(`--${name}: expected a positive integer, got "${value}"`);
        return EXIT_USAGE;
      }
    }
    if (name === "actors") return await actorsBench(numbers);
    if (name === "sinks") return await sinksBench(numbers);
    if (name === "recovery") return await recoveryBench(numbers.rounds);
    if (name === "e2e") return await e2eBench(rates, numbers.seconds);
    if (name === "ask") return await askBenchCommand();
    if (name === "monitor") return await monitorBench(Math.min(numbers.records, 100_000), values.batch);
    if (name !== "connector") {
      console.error(`Unknown benchmark "${name}".\n\n${USAGE}`);
      return EXIT_USAGE;
    }

    const { up, down, progress } = await import("../tests/services/launcher.ts");
    const controller = new AbortController();
    const { state, reused } = await up(controller.signal, ["kafka", "schema-registry"]);
    try {
      const { connectorBench } = await import("../tests/bench/connector_bench.ts");
      const env = state.env;
      const { report } = await connectorBench({
        brokers: (env.KAFKA_BROKERS ?? "").split(","),
        schemaRegistryUrl: env.SCHEMA_REGISTRY_URL,
        java: env.KAFKA_JAVA ?? "java",
        kafkaClasspath: env.KAFKA_LIBS ?? "",
        records: numbers.records,
        publishBatch: numbers.batch,
        inFlight: numbers.inFlight,
        progress: (m) => progress(`bench: ${m}`),
      });
      console.log(`\n${report}`);
      return EXIT_OK;
    } catch (e) {
      console.error(`bench ${name} failed: ${e instanceof Error ? e.stack : e}`);
      return EXIT_FAILURE;
    } finally {
      if (!reused) await down();
    }
  },
};

/** `bench actors`: in-process, no services. */
async function actorsBench(n: {
  records: number;
  batch: number;
  instances: number;
  window: number;
  crashes: number;
}): Promise<number> {
  const { actorsBench } = await import("../tests/bench/actors_bench.ts");
  try {
    const { report } = await actorsBench({
      records: n.records,
      batch: n.batch,
      instances: n.instances,
      creditWindow: n.window,
      crashes: n.crashes,
      progress: (m) => console.error(`bench: ${m}`),
    });
    console.log(`\n${report}`);
    return EXIT_OK;
  } catch (e) {
    console.error(`bench actors failed: ${e instanceof Error ? e.stack : e}`);
    return EXIT_FAILURE;
  }
}

/** `bench monitor`: in-process, no services. */
async function monitorBench(ticks: number, batch: string | undefined): Promise<number> {
  const { monitorBench } = await import("../tests/bench/monitor_bench.ts");
  try {
    const report = await monitorBench({
      ticks,
      seeds: [1, 2, 3],
      batch: Number(batch ?? "500"),
      cacheDir: new URL("../.cache/bench", import.meta.url).pathname,
      progress: (m) => console.error(`bench: ${m}`),
    });
    console.log(`\n${report}`);
    return EXIT_OK;
  } catch (e) {
    console.error(`bench monitor failed: ${e instanceof Error ? e.stack : e}`);
    return EXIT_FAILURE;
  }
}

/** `bench recovery`: PostgreSQL from the environment or the launcher; a broker of its own. */
async function recoveryBench(rounds: number): Promise<number> {
  const url = Deno.env.get("DATABASE_URL");
  const launcher = url ? undefined : await import("../tests/services/launcher.ts");
  const started = launcher ? await launcher.up(new AbortController().signal, ["postgres"]) : undefined;
  try {
    const { recoveryBench } = await import("../tests/bench/recovery_bench.ts");
    const { report } = await recoveryBench({
      databaseUrl: url ?? started!.state.env.DATABASE_URL!,
      rounds,
      progress: (m) => console.error(`bench: ${m}`),
    });
    console.log(`\n${report}`);
    return EXIT_OK;
  } catch (e) {
    console.error(`bench recovery failed: ${e instanceof Error ? e.stack : e}`);
    return EXIT_FAILURE;
  } finally {
    if (started && !started.reused) await launcher!.down();
  }
}

/** `bench sinks`: PostgreSQL and ClickHouse from the environment, or from the test-services launcher. */
async function sinksBench(
  n: { records: number; batch: number; instances: number; window: number },
): Promise<number> {
  let env: Record<string, string | undefined> = {
    DATABASE_URL: Deno.env.get("DATABASE_URL"),
    CLICKHOUSE_URL: Deno.env.get("CLICKHOUSE_URL"),
  };
  const launcher = env.DATABASE_URL && env.CLICKHOUSE_URL
    ? undefined
    : await import("../tests/services/launcher.ts");
  const started = launcher
    ? await launcher.up(new AbortController().signal, ["postgres", "clickhouse"])
    : undefined;
  if (started) env = started.state.env;
  try {
    const { sinksBench } = await import("../tests/bench/sinks_bench.ts");
    const { report } = await sinksBench({
      records: n.records,
      batch: n.batch,
      instances: n.instances,
      creditWindow: n.window,
      databaseUrl: env.DATABASE_URL,
      clickhouseUrl: env.CLICKHOUSE_URL,
      embedded: true,
      progress: (m) => console.error(`bench: ${m}`),
    });
    console.log(`\n${report}`);
    return EXIT_OK;
  } catch (e) {
    console.error(`bench sinks failed: ${e instanceof Error ? e.stack : e}`);
    return EXIT_FAILURE;
  } finally {
    if (started && !started.reused) await launcher!.down();
  }
}

/** `bench e2e`: Kafka, the registry, PostgreSQL and ClickHouse from the environment, or from the launcher. */
async function e2eBench(rates: number[], seconds: number): Promise<number> {
  const names = ["KAFKA_BROKERS", "SCHEMA_REGISTRY_URL", "DATABASE_URL", "CLICKHOUSE_URL"];
  let env: Record<string, string | undefined> = Object.fromEntries(names.map((n) => [n, Deno.env.get(n)]));
  const launcher = names.every((n) => env[n]) ? undefined : await import("../tests/services/launcher.ts");
  const started = launcher
    ? await launcher.up(new AbortController().signal, ["kafka", "schema-registry", "postgres", "clickhouse"])
    : undefined;
  if (started) env = started.state.env;
  try {
    const { e2eBench } = await import("../tests/bench/e2e_bench.ts");
    const { report } = await e2eBench({
      brokers: env.KAFKA_BROKERS!.split(","),
      schemaRegistryUrl: env.SCHEMA_REGISTRY_URL!,
      databaseUrl: env.DATABASE_URL!,
      clickhouseUrl: env.CLICKHOUSE_URL,
      rates,
      seconds,
      progress: (m) => console.error(`bench: ${m}`),
    });
    console.log(`\n${report}`);
    return EXIT_OK;
  } catch (e) {
    console.error(`bench e2e failed: ${e instanceof Error ? e.stack : e}`);
    return EXIT_FAILURE;
  } finally {
    if (started && !started.reused) await launcher!.down();
  }
}

/** `bench --gate`: every service from the environment, or from the launcher. */
async function gate(): Promise<number> {
  const names = ["KAFKA_BROKERS", "SCHEMA_REGISTRY_URL", "DATABASE_URL", "CLICKHOUSE_URL", "KAFKA_LIBS"];
  let env: Record<string, string | undefined> = Object.fromEntries(
    [...names, "KAFKA_JAVA"].map((n) => [n, Deno.env.get(n)]),
  );
  const launcher = names.every((n) => env[n]) ? undefined : await import("../tests/services/launcher.ts");
  const started = launcher
    ? await launcher.up(new AbortController().signal, ["kafka", "schema-registry", "postgres", "clickhouse"])
    : undefined;
  if (started) env = started.state.env;
  try {
    const { runGate } = await import("../tests/bench/bench_gate.ts");
    const { report, verdicts } = await runGate({
      brokers: env.KAFKA_BROKERS!.split(","),
      schemaRegistryUrl: env.SCHEMA_REGISTRY_URL!,
      databaseUrl: env.DATABASE_URL!,
      clickhouseUrl: env.CLICKHOUSE_URL!,
      java: env.KAFKA_JAVA ?? "java",
      kafkaClasspath: env.KAFKA_LIBS ?? "",
    }, (m) => console.error(`bench: ${m}`));
    console.log(`\n${report}`);
    return verdicts.every((v) => v.ok) ? EXIT_OK : EXIT_FAILURE;
  } catch (e) {
    console.error(`bench --gate failed: ${e instanceof Error ? e.stack : e}`);
    console.log("gate: 0 passed, 1 failed");
    return EXIT_FAILURE;
  } finally {
    if (started && !started.reused) await launcher!.down();
  }
}

/** `bench ask`: in-process node on the embedded defaults; a real endpoint only with OPENAI_API_KEY. */
async function askBenchCommand(): Promise<number> {
  const { askBench } = await import("../tests/bench/ask_bench.ts");
  const apiKey = Deno.env.get("OPENAI_API_KEY");
  try {
    const report = await askBench({
      ...(apiKey
        ? {
          real: {
            apiKey,
            ...(Deno.env.get("OPENAI_BASE_URL") ? { baseUrl: Deno.env.get("OPENAI_BASE_URL")! } : {}),
            ...(Deno.env.get("OPENAI_MODEL") ? { model: Deno.env.get("OPENAI_MODEL")! } : {}),
          },
        }
        : {}),
      progress: (m) => console.error(`bench: ${m}`),
    });
    console.log(`\n${report}`);
    return EXIT_OK;
  } catch (e) {
    console.error(`bench ask failed: ${e instanceof Error ? e.stack : e}`);
    return EXIT_FAILURE;
  }
}
