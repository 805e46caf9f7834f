/**
 * `qistream bench <name>`: runs a benchmark against real services and prints rates beside baselines measured
 * in the same run, as ratios. Services come from the environment (`KAFKA_BROKERS`, ...) or are started by the
 * test-services launcher and stopped afterwards.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type Command, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "./command.ts";

const USAGE = `Usage: qistream bench <name> [--records N]

Benchmarks (each prints its baseline, measured in the same run, and the ratio):
  connector   produce/consume of ~200-byte Avro records through the Kafka connector,
              beside Kafka's ProducerPerformance/ConsumerPerformance and a raw kafkajs loop

Options:
  --records N       records per measurement (default 200000)
  --batch N         records per publish call (default 500)
  --in-flight N     publish calls in flight (default 8)

Uses KAFKA_BROKERS / SCHEMA_REGISTRY_URL when set; otherwise starts the test services (deno task services)
and stops them afterwards.`;

/** `qistream bench`. */
export const benchCommand: Command = {
  name: "bench",
  summary: "run a benchmark beside its same-run baseline (connector)",
  usage: USAGE,
  async run(args) {
    let parsed;
    try {
      parsed = parseArgs({
        args,
        options: {
          records: { type: "string", default: "200000" },
          batch: { type: "string", default: "500" },
          "in-flight": { type: "string", default: "8" },
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
    const numbers = {
      records: Number(values.records),
      batch: Number(values.batch),
      inFlight: Number(values["in-flight"]),
    };
    for (const [name, value] of Object.entries(numbers)) {
      if (!Number.isInteger(value) || value <= 0) {
        console.error(`--${name}: expected a positive integer, got "${value}"`);
        return EXIT_USAGE;
      }
    }
    const [name] = positionals;
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
