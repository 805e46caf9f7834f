/**
 * `qistream dlq list|show|replay`: the dead letters a person deals with. Reads the dead-letter topic
 * (`node.deadLetterTopic`) from its beginning to its current end with a throwaway read (no consumer group that
 * matters joins or commits), on Kafka or the embedded log, and replays chosen dead letters to their source topic.
 *
 * @module
 */
import { AvroSerde } from "../connector/avro/mod.ts";
import {
  type DeadLetterSummary,
  DLQ_REPLAYED_FROM_HEADER,
  summarizeDeadLetter,
} from "../connector/dead_letter_record.ts";
import {
  matchesDeadLetter,
  parseDeadLetterRef,
  readDeadLetters,
  replayDeadLetters,
  showDeadLetter,
} from "../connector/dead_letters.ts";
import { describeConnector, openConnector } from "../connector/open_connector.ts";
import { progressLine, ProgressMeter } from "../core/task_progress.ts";
import { openSchemaRegistry } from "../connector/registry/open_schema_registry.ts";
import type { ConsumedRecord } from "../connector/types.ts";
import { type Command, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "./command.ts";
import { loadCommandConfig } from "./_load_command_config.ts";
import { parseCommandArgs } from "./_parse_command_args.ts";

const USAGE = `Usage: qistream dlq list [filters] [--limit N]
       qistream dlq show <dead letter>
       qistream dlq replay <dead letter>... | --all [filters]

  list    one line per dead letter: where it is in the dead-letter topic, agent, stage, error, where the
          original was (source topic[partition]@offset), value size, and "TRUNCATED" for a cut-down one
  show    every header, the key, and the value decoded: Avro through the schema registry as JSON, else
          UTF-8 text when printable, else a hex preview
  replay  publish the original key, value and headers back to the source topic with the header
          ${DLQ_REPLAYED_FROM_HEADER}=<dead-letter topic>[partition]@offset; a truncated dead letter is refused
          (its original is still in the source topic, at the offset it names). Sinks are idempotent, so a
          replayed record that was stored meanwhile is not stored twice. A record several agents dead-lettered
          (each consumer group of its topic) is published once: every group of the topic sees it again.

A <dead letter> is its offset in the dead-letter topic (partition 0), or PARTITION@OFFSET.
The dead-letter topic is node.deadLetterTopic of the pipeline file (default market.dead-letter). The log is
Kafka when connections.kafka (or KAFKA_BROKERS) is set, else the embedded log in the data directory (stop a
running node first: the embedded log is single-process).

Options:
  --agent NAME          only dead letters of this agent (dlq.agent)
  --stage NAME          only this stage (dlq.stage: decode, handler, ...)
  --error TEXT          only those whose error class or message contains TEXT (any case)
  --limit N             list: only the newest N
  --all                 replay: every dead letter matching the filters
  --topic NAME          another dead-letter topic
  -c, --config PATH     pipeline file (default: $QISTREAM_CONFIG, else pipeline.yaml)
  -h, --help            show this help`;

/** A listed error message longer than this keeps its start and its end (where the cause usually is). */
const MESSAGE_WIDTH = 160;

/** `qistream dlq`. */
export const dlqCommand: Command = {
  name: "dlq",
  summary: "list, show and replay dead letters",
  usage: USAGE,
  async run(args, context) {
    const parsed = parseCommandArgs(args, USAGE, {
      config: { type: "string", short: "c" },
      agent: { type: "string" },
      stage: { type: "string" },
      error: { type: "string" },
      limit: { type: "string" },
      all: { type: "boolean" },
      topic: { type: "string" },
      help: { type: "boolean", short: "h" },
    }, true);
    if (typeof parsed === "number") return parsed;
    const { values, positionals } = parsed;
    const [action, ...refs] = positionals;
    const usageError = (message: string) => {
      console.error(`${message}\n\n${USAGE}`);
      return EXIT_USAGE;
    };
    if (action !== "list" && action !== "show" && action !== "replay") {
      return usageError(`Expected "list", "show" or "replay", got ${action ?? "nothing"}.`);
    }
    let limit: number | undefined;
    if (values.limit !== undefined) {
      limit = Number(values.limit);
      if (!Number.isInteger(limit) || limit < 1) {
        return usageError(`--limit must be a positive integer, got "${values.limit}".`);
      }
    }
    const wanted = refs.map(parseDeadLetterRef);
    const bad = refs.find((_, i) => wanted[i] === undefined);
    if (bad !== undefined) return usageError(`"${bad}" is not a dead letter (OFFSET or PARTITION@OFFSET).`);
    if (action === "list" && refs.length > 0) return usageError("list takes no dead letters; use filters.");
    if (action === "show" && refs.length !== 1) return usageError("show takes exactly one dead letter.");
    if (action === "replay" && (refs.length > 0) === (values.all === true)) {
      return usageError("replay takes dead letters or --all, not both and not neither.");
    }
    const loaded = await loadCommandConfig(values.config ?? context.config);
    if (typeof loaded === "number") return loaded;
    const { config } = loaded;
    const topic = values.topic ?? config.node.deadLetterTopic;

    const connector = openConnector(config);
    const where = describeConnector(config);
    try {
      await connector.connect();
      const all = await readDeadLetters(connector, topic, { signal: context.signal });
      const filtered = all.filter((r) => matchesDeadLetter(summarizeDeadLetter(r), values));
      let selected: ConsumedRecord[];
      if (wanted.length > 0) {
        selected = [];
        for (const ref of wanted) {
          const found = all.find((r) => r.partition === ref!.partition && r.offset === ref!.offset);
          if (!found) {
            console.error(`No dead letter at ${topic}[${ref!.partition}]@${ref!.offset} (${where}).`);
            return EXIT_FAILURE;
          }
          selected.push(found);
        }
      } else selected = filtered;

      if (action === "list") {
        const shown = limit === undefined ? selected : selected.slice(-limit);
        console.log(
          `${selected.length} of ${all.length} dead letters in ${topic} (${where})` +
            (shown.length < selected.length ? `, newest ${shown.length} shown` : "") +
            (shown.length ? ":" : "."),
        );
        for (const r of shown) console.log(listLine(summarizeDeadLetter(r)));
        return EXIT_OK;
      }
      if (action === "show") {
        const serde = new AvroSerde({
          registry: openSchemaRegistry(config.connections.schemaRegistry, config.node.dataDir),
        });
        console.log(await showText(selected[0]!, serde));
        return EXIT_OK;
      }
      let refused = 0;
      let replayed = 0;
      // Progress on stderr (records, percent, rate, ETA) about once a second and at the end, for long replays.
      const meter = new ProgressMeter();
      let shownAt = 0;
      const progress = (done: number, total: number) => {
        const p = meter.report("replay", done, total, done === total);
        if (done === total || Date.now() - shownAt >= 1000) {
          shownAt = Date.now();
          console.error(`progress: ${progressLine(p)}`);
        }
      };
      for (const outcome of await replayDeadLetters(connector, selected, progress)) {
        if (outcome.status === "refused") {
          console.error(outcome.reason);
          refused++;
        } else if (outcome.status === "skipped") {
          console.log(`skipped ${outcome.location}: ${outcome.reason}`);
        } else {
          replayed++;
          console.log(`replayed ${outcome.location} -> ${outcome.to}`);
        }
      }
      console.log(`Replayed ${replayed} dead letter(s)${refused ? `, refused ${refused}` : ""}.`);
      return refused > 0 ? EXIT_FAILURE : EXIT_OK;
    } catch (e) {
      console.error(`dlq ${action} failed against ${where}: ${(e as Error).message}`);
      return EXIT_FAILURE;
    } finally {
      await connector.close().catch(() => {});
    }
  },
};

function sourceText(s: DeadLetterSummary): string {
  return s.source ? `${s.source.topic}[${s.source.partition}]@${s.source.offset}` : "(no source)";
}

function listLine(s: DeadLetterSummary): string {
  const at = s.partition === 0 ? s.offset : `${s.partition}@${s.offset}`;
  const oneLine = s.errorMessage.replace(/\s+/g, " ");
  const message = oneLine.length > MESSAGE_WIDTH
    ? `${oneLine.slice(0, 50)} ... ${oneLine.slice(-(MESSAGE_WIDTH - 55))}`
    : oneLine;
  return `${at}  ${s.agent}  ${s.stage}  ${sourceText(s)}  ${s.valueBytes} B${
    s.truncated !== undefined ? "  TRUNCATED" : ""
  }  ${s.errorClass}: ${message}`;
}

async function showText(r: ConsumedRecord, serde: AvroSerde): Promise<string> {
  const s = await showDeadLetter(r, serde);
  const lines = [
    `Dead letter ${s.location} (${new Date(s.timestamp).toISOString()})`,
    `  agent ${s.agent}, stage ${s.stage}, from ${sourceText(s)}`,
    `  ${s.errorClass}: ${s.errorMessage}`,
    s.truncated !== undefined ? `  TRUNCATED: ${s.truncated}` : "",
    "Headers:",
    ...Object.entries(s.headers).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `  ${k}: ${v}`),
    `Key: ${s.key}`,
    `Value (${s.valueBytes} bytes): ${s.value}`,
  ];
  return lines.filter((l) => l !== "").join("\n");
}
