/**
 * The replay agent: publishes the ticks of a JSONL or CSV file ({@linkcode replayTicks}) keyed by symbol, at
 * `speed`× the pace of their timestamps or as fast as publishing allows (`speed: 0`), then exits normally.
 * For backtests and reproducible demos; the shipped sample (300 ticks) is the default file.
 *
 * Its Worker may read exactly the configured file: its spec's `permissions` computes that `read` permission from
 * the config. A line that is not a valid tick goes to the dead-letter topic; the replay goes on.
 *
 * Its position is the file's line (`{ path, line }`), checkpointed after the records up to that line are
 * acknowledged: a restarted replay (after a crash, a SIGKILL of the node, or on another node) resumes after the
 * last acknowledged line, so the topic holds each line once, plus at most the records of the batches that were
 * unacknowledged when it died — one batch with the default `maxInFlight: 1`. A finished replay that starts again publishes nothing; a position saved for
 * another file is ignored (the replay starts at line 1).
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { z } from "zod";
import type { AgentContext } from "../runtime/agent_context.ts";
import { type AgentKindSpec, defineAgent } from "../runtime/agent_spec.ts";
import { replayTicks } from "../sources/tick_replay.ts";
import { SAMPLE_TICKS_URL } from "../sources/mod.ts";
import { publishingFields, SourceOutput, sourceTopics } from "./_source_agent.ts";

/** Path of the shipped sample file (300 ticks of the synthetic market). */
export const SAMPLE_TICKS_PATH: string = fileURLToPath(SAMPLE_TICKS_URL);

/** Config of the replay agent. */
export const ReplayConfig = z.object({
  ...publishingFields,
  path: z.string().min(1).default(SAMPLE_TICKS_PATH).describe(
    "The file; `.csv` is read as CSV, anything else as JSON Lines. Default the shipped sample.",
  ),
  speed: z.number().min(0).default(1).describe(
    "Speed over the records' timestamps (2 = twice as fast); 0 = as fast as possible.",
  ),
  keepSource: z.boolean().default(false).describe(
    "Keep each record's `source` instead of setting it to `replay`.",
  ),
  maxInFlight: z.number().int().min(1).max(1000).default(1).describe(
    "Publishes unacknowledged at once: 1 bounds what a killed replay publishes twice to one batch.",
  ),
});

/** The validated config. */
export type ReplayConfig = z.infer<typeof ReplayConfig>;

/** The replay agent's spec: a source whose Worker may read exactly the configured file. */
export const spec: AgentKindSpec<ReplayConfig> = defineAgent({
  name: "replay",
  summary: "Replays a JSONL or CSV file of ticks at N× speed or as fast as possible",
  description:
    "For backtests and reproducible demos; the shipped sample (300 ticks) is the default file. A " +
    "line that is not a valid tick goes to the dead-letter topic; the replay goes on, then exits normally.",
  role: "source",
  config: ReplayConfig,
  examples: [{
    title: "The shipped sample at 10× speed",
    config: { path: "actors/sources/sample_ticks.jsonl", speed: 10 },
  }],
  topics: sourceTopics,
  singleton: true,
  permissions: (config) => ({ read: [config.path] }),
});

/**
 * Replays the file once, then returns (a normal exit); stops early when the actor stops.
 *
 * @param ctx the agent context
 * @throws {Deno.errors.NotFound} when the file does not exist; `NotCapable` when it is not granted
 */
export async function run(ctx: AgentContext<ReplayConfig>): Promise<void> {
  const c = ctx.config;
  const out = new SourceOutput(ctx, c, "replay");
  const fromLine = resumeLine(out.storedPosition, c.path);
  if (fromLine > 0) ctx.log.info("resuming {path} after line {line}", { path: c.path, line: fromLine });
  await out.run(async (signal) => {
    // What is left to replay: the file's records less the lines a resume skips.
    const total = Math.max(0, (await countLines(c.path, c.path.toLowerCase().endsWith(".csv"))) - fromLine);
    let done = 0;
    const n = await replayTicks({
      path: c.path,
      speed: c.speed,
      keepSource: c.keepSource,
      fromLine,
      onRecord: (r, line) => {
        ctx.progress?.("replay", ++done, total);
        return out.record(r, undefined, { path: c.path, line });
      },
      onMalformed: (raw, error, line) => {
        ctx.progress?.("replay", ++done, total); // a dead-lettered line is handled too
        return out.malformed("replay.file", raw, error, { path: c.path, line });
      },
      metrics: ctx.metrics,
      signal,
    });
    ctx.progress?.("replay", done, Math.max(done, total), true);
    ctx.log.info("replayed {count} ticks from {path}", { count: n, path: c.path });
  });
}

/** The position of a replay: the last line of `path` whose record is acknowledged. */
export interface ReplayPosition {
  path: string;
  line: number;
}

/**
 * Where a replay resumes: after the saved line when the saved position is of the same file, else at the start.
 *
 * @param stored the saved position (any JSON), or undefined
 * @param path the configured file
 * @returns the number of lines to skip
 */
export function resumeLine(stored: unknown, path: string): number {
  const p = stored as Partial<ReplayPosition> | undefined;
  return p?.path === path && typeof p.line === "number" && p.line > 0 ? p.line : 0;
}

/** Non-empty lines of a file (less a CSV header), read in chunks: the replay's total for its progress. */
async function countLines(path: string, csv: boolean): Promise<number> {
  const file = await Deno.open(path); // its readable closes it
  let lines = 0;
  let sawText = false;
  for await (const chunk of file.readable) {
    for (const b of chunk) {
      if (b === 10) {
        if (sawText) lines++;
        sawText = false;
      } else if (b !== 13 && b !== 32 && b !== 9) sawText = true;
    }
  }
  if (sawText) lines++;
  return Math.max(0, csv ? lines - 1 : lines);
}
