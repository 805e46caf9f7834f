/**
 * `qistream topics plan|apply`: topics as code. Compares the topics declared in the pipeline file with the
 * log (Kafka when `connections.kafka` is set, else the embedded log in the data directory) and applies the
 * difference: creates topics, adds partitions, sets configs; fewer partitions are refused.
 *
 * @module
 */
import { describeConnector, openConnector } from "../connector/open_connector.ts";
import {
  applyTopics,
  declaredTopics,
  formatTopicPlan,
  planHasChanges,
  planTopics,
  RiskyTopicChangeError,
  riskyTopicConfigFor,
  TopicChangeRefusedError,
} from "../connector/topics/mod.ts";
import { type Command, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "./command.ts";
import { loadCommandConfig } from "./_load_command_config.ts";
import { parseCommandArgs } from "./_parse_command_args.ts";

const USAGE = `Usage: qistream topics <plan|apply> [--config PATH] [--allow-risky-changes]

  plan   print the difference between the declared topics and the log:
           + create   ~ add partitions / change config   !~ risky change   ! refused   = unchanged
  apply  carry the plan out (exit 1 without changing anything if a change is refused, e.g. fewer
         partitions than the topic has, or if it is risky and --allow-risky-changes is not given)

A risky change alters compression.type or cleanup.policy of an existing Kafka topic: consumers without the
new codec could no longer read it, or the broker would delete records by another rule. A starting node never
applies one; it logs it instead. (The embedded log neither compresses nor compacts: no change is risky there.)

Topics are declared under "topics:" in the pipeline file (partitions, replicationFactor, retentionMs,
cleanupPolicy, compression, config). The log is Kafka when connections.kafka (or KAFKA_BROKERS) is set,
else the embedded log in the data directory (stop a running node first: the embedded log is single-process).

Options:
  -c, --config PATH       pipeline file (default: $QISTREAM_CONFIG, else pipeline.yaml)
  --allow-risky-changes   apply risky changes too
  -h, --help              show this help`;

/** `qistream topics`. */
export const topicsCommand: Command = {
  name: "topics",
  summary: "plan or apply the declared topics (create, add partitions, set configs)",
  usage: USAGE,
  async run(args, context) {
    const parsed = parseCommandArgs(args, USAGE, {
      config: { type: "string", short: "c" },
      "allow-risky-changes": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    }, true);
    if (typeof parsed === "number") return parsed;
    const { values, positionals } = parsed;
    const action = positionals[0];
    if ((action !== "plan" && action !== "apply") || positionals.length > 1) {
      console.error(`Expected "plan" or "apply", got ${positionals.join(" ") || "nothing"}.\n\n${USAGE}`);
      return EXIT_USAGE;
    }
    const loaded = await loadCommandConfig(values.config ?? context.config);
    if (typeof loaded === "number") return loaded;
    const { config } = loaded;

    const connector = openConnector(config);
    const where = describeConnector(config);
    try {
      await connector.connect();
      const plan = await planTopics(declaredTopics(config.topics), connector.admin, {
        risky: riskyTopicConfigFor(connector.kind),
      });
      console.log(`Topics declared in the pipeline file against ${where}:`);
      console.log(formatTopicPlan(plan));
      const refused = plan.changes.some((c) => c.kind === "refused");
      if (action === "plan") return refused ? EXIT_FAILURE : EXIT_OK;
      if (!planHasChanges(plan) && !refused) {
        console.log("Nothing to apply.");
        return EXIT_OK;
      }
      const done = await applyTopics(plan, connector.admin, {
        allowRiskyChanges: values["allow-risky-changes"] === true,
      });
      console.log(
        `Applied: ${done.created.length} created, ${done.partitionsAdded.length} with partitions added, ` +
          `${done.configAltered.length} with config changed.`,
      );
      return EXIT_OK;
    } catch (e) {
      if (e instanceof TopicChangeRefusedError || e instanceof RiskyTopicChangeError) {
        console.error(e.message);
      } else console.error(`topics ${action} failed against ${where}: ${(e as Error).message}`);
      return EXIT_FAILURE;
    } finally {
      await connector.close().catch(() => {});
    }
  },
};
