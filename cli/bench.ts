/**
 * `qistream bench <name>`: runs a benchmark and prints rates beside baselines measured in the same run, as
 * ratios. Benchmarks that need services take them from the environment (`KAFKA_BROKERS`, ...) or start the
 * test-services launcher and stop it afterwards; `actors` needs none.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type Command, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "./command.ts";

const USAGE = `Usage: qistream bench <name> [--records N]

Benchmarks (each prints its baseline, measured in the same run, and the ratio):
  connector   produce/consume of ~200-byte Avro records through the Kafka connector,
              beside Kafka's ProducerPerformance/ConsumerPerformance and a raw kafkajs loop
  actors      records/s through dispatch -> actor -> ack beside raw postMessage to a Worker,
              and restart time from a crash to the next batch processed (median, p99)

Options:
  --records N       records per measurement (default 200000)
  --batch N         records per publish call (connector, default 500) or per batch (actors, default 100)
  --in-flight N     publish calls in flight (connector, default 8)
  --instances N     actor instances (actors, default 2)
  --window N        credit window per actor (actors, default 4)
  --crashes N       crashes timed for the restart figures (actors, default 50)

connector uses KAFKA_BROKERS / SCHEMA_REGISTRY_URL when set; otherwise it starts the test services
(deno task services) and stops them afterwards. actors needs no services.`;

/** `qistream bench`. */
export const benchCommand: Command = {
  name: "bench",
  summary: "run a benchmark beside its same-run baseline (connector, actors)",
  usage: USAGE,
  async run(args) {
    let parsed;
    try {
      parsed = parseArgs({
        args,
        options: {
          records: { type: "string", default: "200000" },
          batch: { type: "string" },
          "in-flight": { type: "string", default: "8" },
          instances: { type: "string", default: "2" },
          window: { type: "string", default: "4" },
          crashes: { type: "string", default: "50" },
          help: { type: "boolean", short: "h" },
        },
        allowPositionals: true,
        strict: true,
      });
    } catch (e) {
      console.error(`${(e as Error).message}\n\n${USAGE}`);
      return EXIT_USAGE;
    }
    const { values, positionals } = parsed;
    if (values.help || positionals.length === 0) {
      console.log(USAGE);
      return values.help ? EXIT_OK : EXIT_USAGE;
    }
    const [name] = positionals;
    const numbers = {
      records: Number(values.records),
      batch: Number(values.batch ?? (name === "actors" ? "100" : "500")),
      inFlight: Number(values["in-flight"]),
      instances: Number(values.instances),
      window: Number(values.window),
      crashes: Number(values.crashes),
    };
    for (const [name, value] of Object.entries(numbers)) {
      if (!Number.isInteger(value) || value <= 0) {
        console.error(`--${name}: expected a positive integer, got "${value}"`);
        return EXIT_USAGE;
      }
    }
    if (name === "actors") return await actorsBench(numbers);
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
      const report = await connectorBench({
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
    const report = await actorsBench({
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
