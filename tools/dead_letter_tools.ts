/**
 * The `deadletters` tool set — list (by agent, stage, error), show one decoded, replay chosen ones — over the
 * node's dead-letter topic, with the same logic as `deno task dlq` (`connector/dead_letters.ts`). Each call
 * reads the topic to its current end (a throwaway read).
 *
 * @module
 */
import { z } from "zod";
import type { AvroSerde } from "../connector/avro/mod.ts";
import { summarizeDeadLetter } from "../connector/dead_letter_record.ts";
import {
  matchesDeadLetter,
  parseDeadLetterRef,
  readDeadLetters,
  replayDeadLetters,
  showDeadLetter,
} from "../connector/dead_letters.ts";
import type { ConsumedRecord, StreamConnector } from "../connector/types.ts";
import { type AnyToolDefinition, defineTool } from "./tool_definition.ts";

/** What the dead-letter tools need. */
export interface DeadLetterToolsDeps {
  connector: StreamConnector;
  /** The dead-letter topic (`node.deadLetterTopic`). */
  topic: string;
  /** Decodes Avro values for `show`. */
  serde?: AvroSerde;
}

const ref = z.string().regex(/^(\d+@)?\d+$/, "expected OFFSET or PARTITION@OFFSET");

/**
 * Builds the dead-letter tools.
 *
 * @param deps The connector, the topic and the serde.
 * @returns `deadletters.list`, `deadletters.show`, `deadletters.replay`.
 */
export function deadLetterTools(deps: DeadLetterToolsDeps): AnyToolDefinition[] {
  const find = (all: ConsumedRecord[], wanted: string): ConsumedRecord => {
    const r = parseDeadLetterRef(wanted)!;
    const found = all.find((x) => x.partition === r.partition && x.offset === r.offset);
    if (!found) throw new RangeError(`No dead letter at ${deps.topic}[${r.partition}]@${r.offset}`);
    return found;
  };
  return [
    defineTool({
      name: "deadletters.list",
      title: "List dead letters",
      description:
        `Lists the dead letters of ${deps.topic}, newest last, optionally only those of one agent, ` +
        "one stage (decode, handler, sink, bar.late, ...) or whose error contains a text. Each names where it " +
        "is (its ref, PARTITION@OFFSET), the agent, stage, error and where the original was. Returns " +
        "{total, matched, deadLetters}.",
      inputSchema: z.object({
        agent: z.string().min(1).optional(),
        stage: z.string().min(1).optional(),
        error: z.string().min(1).optional().describe("Case-insensitive text in the error class or message"),
        limit: z.coerce.number().int().min(1).max(1000).default(100).describe("Newest N matches"),
      }),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
      role: "reader",
      handler: async ({ agent, stage, error, limit }, ctx) => {
        const all = await readDeadLetters(deps.connector, deps.topic, { signal: ctx.signal });
        const matched = all.map(summarizeDeadLetter).filter((s) =>
          matchesDeadLetter(s, { agent, stage, error })
        );
        return {
          total: all.length,
          matched: matched.length,
          deadLetters: matched.slice(-limit).map((s) => ({ ref: `${s.partition}@${s.offset}`, ...s })),
        };
      },
    }),
    defineTool({
      name: "deadletters.show",
      title: "Show a dead letter",
      description:
        "Shows one dead letter: every header, the key, and the original value decoded (Avro through " +
        "the schema registry as JSON, else text, else hex). Returns {deadLetter}.",
      inputSchema: z.object({ ref }),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
      role: "reader",
      handler: async ({ ref }, ctx) => {
        const all = await readDeadLetters(deps.connector, deps.topic, { signal: ctx.signal });
        return { deadLetter: await showDeadLetter(find(all, ref), deps.serde) };
      },
    }),
    defineTool({
      name: "deadletters.replay",
      title: "Replay dead letters",
      description:
        "Publishes the originals of the chosen dead letters back to their source topics (with the " +
        "header dlq.replayed-from), after the cause was fixed; sinks are idempotent, so a record stored " +
        "meanwhile is not stored twice. A truncated dead letter is refused; a record several agents " +
        "dead-lettered goes back once. Returns {outcomes}.",
      inputSchema: z.object({ refs: z.array(ref).min(1).max(1000) }),
      role: "writer",
      annotations: {
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: false,
        openWorldHint: true,
      },
      handler: async ({ refs }, ctx) => {
        const all = await readDeadLetters(deps.connector, deps.topic, { signal: ctx.signal });
        return { outcomes: await replayDeadLetters(deps.connector, refs.map((r: string) => find(all, r))) };
      },
    }),
  ];
}
