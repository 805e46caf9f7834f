/**
 * The `stream` tool set: `stream.publish`, `stream.list_topics`, `stream.topic_stats` and `stream.read_latest`
 * over the process's `StreamConnector`.
 *
 * @module
 */
import { z } from "zod";
import { partitionLag } from "../connector/partition_lag.ts";
import { readTopicToEnd } from "../connector/read_topic_to_end.ts";
import type { StreamConnector } from "../connector/types.ts";
import { type AnyToolDefinition, defineTool } from "./tool_definition.ts";

/** Dependencies of the stream tools. */
export interface StreamToolsDeps {
  /** The connected stream connector. */
  connector: StreamConnector;
  /** Topics `stream.publish` may write to; every topic when absent. */
  publishTopics?: readonly string[];
}

/** Most records one `stream.publish` call accepts. */
export const MAX_PUBLISH_RECORDS = 10_000;

const recordSchema = z.object({
  key: z.string().nullable().default(null).describe("Partition key (e.g. the symbol); null spreads records"),
  value: z.string().nullable().optional().describe("Value as UTF-8 text (e.g. JSON)"),
  valueBase64: z.string().optional().describe("Value as base64 bytes (e.g. Confluent-framed Avro)"),
  headers: z.record(z.string(), z.string()).optional().describe("Record headers"),
  partition: z.number().int().min(0).optional().describe("Explicit partition"),
}).refine(
  (r) => !(r.value !== undefined && r.valueBase64 !== undefined),
  "give value or valueBase64, not both",
);

const encoder = new TextEncoder();

function valueBytes(r: z.infer<typeof recordSchema>): Uint8Array | null {
  if (r.valueBase64 !== undefined) return Uint8Array.from(atob(r.valueBase64), (c) => c.charCodeAt(0));
  return r.value == null ? null : encoder.encode(r.value);
}

/**
 * Builds the stream tool definitions.
 *
 * @param deps The connector.
 * @returns The four tools.
 */
export function streamTools(deps: StreamToolsDeps): AnyToolDefinition[] {
  const { connector } = deps;
  return [
    defineTool({
      name: "stream.publish",
      role: "writer",
      title: "Publish records to a topic",
      description:
        "Publishes records to one topic and waits until the log acknowledged all of them durably. " +
        "Each record: {key, value (UTF-8 text) or valueBase64 (bytes), headers?, partition?}. Values are sent " +
        "as given (no schema encoding). Returns {topic, records: [{partition, offset}]} in input order. " +
        "Not idempotent: calling it twice publishes twice.",
      inputSchema: z.object({
        topic: z.string().min(1).describe("Topic name"),
        records: z.array(recordSchema).min(1).max(MAX_PUBLISH_RECORDS).describe("Records to publish"),
      }),
      annotations: {
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: false,
        openWorldHint: true,
      },
      handler: async ({ topic, records }, ctx) => {
        if (deps.publishTopics && !deps.publishTopics.includes(topic)) {
          throw new RangeError(
            `Cannot publish to "${topic}": allowed topics are ${deps.publishTopics.join(", ") || "none"}`,
          );
        }
        const published = await connector.publish(
          topic,
          records.map((r) => ({
            key: r.key,
            value: valueBytes(r),
            headers: {
              ...(ctx.correlationId ? { "correlation-id": ctx.correlationId } : {}),
              ...r.headers,
            },
            ...(r.partition !== undefined ? { partition: r.partition } : {}),
          })),
        );
        return { topic, records: published.map(({ partition, offset }) => ({ partition, offset })) };
      },
    }),
    defineTool({
      name: "stream.list_topics",
      role: "reader",
      title: "List topics",
      description: "Lists the topics of the log with their partition count, replication factor and configs " +
        "(retention.ms, cleanup.policy, ...). Returns {topics: [{name, partitions, replicationFactor, config}]}.",
      inputSchema: z.object({}),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
      handler: async () => {
        const names = (await connector.admin.listTopics()).sort();
        const described = await connector.admin.describeTopics(names);
        return { topics: described.sort((a, b) => a.name.localeCompare(b.name)) };
      },
    }),
    defineTool({
      name: "stream.topic_stats",
      role: "reader",
      title: "Topic offsets and consumer lag",
      description:
        "Per partition of a topic: earliest offset (low), high watermark (high), records retained " +
        "(high - low) and, with a consumer `group`, its committed offset (null when it committed nothing there) and " +
        "lag (high - committed, or high - low where it committed nothing: what it has not consumed yet). " +
        "Returns {topic, group, partitions, totalLag, messages}.",
      inputSchema: z.object({
        topic: z.string().min(1).describe("Topic name"),
        group: z.string().min(1).optional().describe("Consumer group id, for lag"),
      }),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
      handler: async ({ topic, group }) => {
        const offsets = await connector.offsets(topic, group);
        const partitions = offsets
          .sort((a, b) => a.partition - b.partition)
          .map((p) => ({
            partition: p.partition,
            low: p.low,
            high: p.high,
            messages: Number(BigInt(p.high) - BigInt(p.low)),
            committed: p.committed ?? null,
            lag: group === undefined ? null : partitionLag(p),
          }));
        const lags = partitions.map((p) => p.lag ?? 0);
        return {
          topic,
          group: group ?? null,
          partitions,
          messages: partitions.reduce((s, p) => s + p.messages, 0),
          totalLag: group === undefined ? null : lags.reduce((s, l) => s + l, 0),
        };
      },
    }),
    defineTool({
      name: "stream.read_latest",
      title: "Latest value per key",
      description:
        "Reads a topic from its earliest offset to its current end (a throwaway read that commits nothing) " +
        "and returns the latest record of each key that starts with `keyPrefix`, as on a compacted topic: " +
        "{topic, records: [{key, value (UTF-8 text, null for a tombstone), partition, offset}]} sorted by key. " +
        "Meant for small compacted topics such as checkpoints.",
      inputSchema: z.object({
        topic: z.string().min(1).describe("Topic name"),
        keyPrefix: z.string().default("").describe("Only keys starting with this"),
      }),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
      // Reads raw records of any topic (the monitor's checkpoints): not for readers, who see only what the query tools show.
      role: "writer",
      handler: async ({ topic, keyPrefix }) => {
        const latest = new Map<
          string,
          { key: string; value: string | null; partition: number; offset: string }
        >();
        for (const r of await readTopicToEnd(connector, topic)) {
          if (!r.key) continue;
          const key = new TextDecoder().decode(r.key);
          if (!key.startsWith(keyPrefix)) continue;
          const value = r.value === null ? null : new TextDecoder().decode(r.value);
          latest.set(key, { key, value, partition: r.partition, offset: r.offset });
        }
        return { topic, records: [...latest.values()].sort((a, b) => a.key.localeCompare(b.key)) };
      },
    }),
  ];
}
