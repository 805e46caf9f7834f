/**
 * Replays a file of ticks — JSON Lines (one market.tick object per line) or CSV with a header
 * `symbol,source,exchange,ts,price,bid,ask,volume` — at N× the speed of the records' timestamps, or as
 * fast as possible. For backtests and reproducible demos.
 *
 * @module
 */
import { z } from "zod";
import type { MarketRecord, Tick } from "./market_record.ts";
import { describeIssues, MalformedPayloadError } from "./malformed_payload_error.ts";
import { abortableSleep } from "../../core/abortable_sleep.ts";
import { MALFORMED, type MetricsSink, RECORDS_OUT } from "../shared/source_metrics.ts";

/** Options of {@link replayTicks}. */
export interface TickReplayOptions {
  /** The file; `.csv` is read as CSV, anything else as JSON Lines. */
  path: string | URL;
  /** Speed factor over the records' timestamps (2 = twice as fast); 0 or Infinity = as fast as possible. Default 1. */
  speed?: number;
  /** Keep each record's `source` instead of setting it to `replay`. Default false. */
  keepSource?: boolean;
  /** Receives each tick and its line number (1-based); a returned promise is awaited. */
  onRecord: (record: MarketRecord, line: number) => void | Promise<void>;
  /** Receives lines that are not valid ticks, with their line number (the replay goes on). */
  onMalformed?: (raw: string, error: MalformedPayloadError, line: number) => void;
  /** Resume after this line (a saved position): lines 1..fromLine are skipped. Default 0. */
  fromLine?: number;
  /** Counters `source_records_total` and `source_malformed_total` (source `replay`). */
  metrics?: MetricsSink;
  /** Stops the replay. */
  signal?: AbortSignal;
}

const SOURCE = "replay";
const nullableNumber = z.number().nullable().optional().transform((v) => v ?? null);
const tickSchema = z.object({
  symbol: z.string().min(1),
  source: z.string().optional(),
  exchange: z.string().nullable().optional().transform((v) => v ?? null),
  ts: z.number().int(),
  price: z.number(),
  bid: nullableNumber,
  ask: nullableNumber,
  volume: nullableNumber,
});
const CSV_COLUMNS = ["symbol", "source", "exchange", "ts", "price", "bid", "ask", "volume"] as const;
const NUMERIC = new Set(["ts", "price", "bid", "ask", "volume"]);

/**
 * Replays the file once.
 *
 * @param options file, speed, handlers
 * @returns the number of ticks emitted
 * @throws {Deno.errors.NotFound} when the file does not exist; the signal's reason is not thrown (resolves early)
 *
 * @example
 * ```ts
 * await replayTicks({ path: "actors/sources/sample_ticks.jsonl", speed: 10, onRecord: (r) => console.log(r.value) });
 * ```
 */
export async function replayTicks(options: TickReplayOptions): Promise<number> {
  const speed = options.speed ?? 1;
  if (!(speed >= 0)) throw new RangeError(`Cannot replay: speed must be >= 0, current value is ${speed}`);
  const paced = speed > 0 && Number.isFinite(speed);
  const csv = String(options.path).toLowerCase().endsWith(".csv");
  const signal = options.signal;
  let header: string[] | undefined;
  let firstTs: number | undefined;
  let started = 0;
  let lineNo = 0;
  let emitted = 0;
  const fromLine = options.fromLine ?? 0;
  for await (const line of readLines(options.path)) {
    lineNo++;
    if (signal?.aborted) break;
    if (line.trim() === "") continue;
    if (csv && header === undefined) {
      header = line.split(",").map((h) => h.trim());
      continue;
    }
    if (lineNo <= fromLine) continue;
    const tick = parseLine(line, lineNo, header, options);
    if (tick === undefined) continue;
    if (!options.keepSource) tick.source = SOURCE;
    if (paced) {
      if (firstTs === undefined) {
        firstTs = tick.ts;
        started = performance.now();
      }
      const wait = started + (tick.ts - firstTs) / speed - performance.now();
      if (wait > 1) {
        try {
          await abortableSleep(wait, signal);
        } catch {
          break;
        }
      }
    }
    const pending = options.onRecord({ kind: "tick", value: tick }, lineNo);
    if (pending) await pending;
    emitted++;
  }
  if (emitted > 0) options.metrics?.inc(RECORDS_OUT, { source: SOURCE, kind: "tick" }, emitted);
  return emitted;
}

function parseLine(
  line: string,
  lineNo: number,
  header: string[] | undefined,
  options: TickReplayOptions,
): Tick | undefined {
  let raw: unknown;
  try {
    raw = header ? csvObject(line, header) : JSON.parse(line);
  } catch (e) {
    malformed(line, lineNo, `not JSON: ${(e as Error).message}`, options, e);
    return undefined;
  }
  const parsed = tickSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    malformed(line, lineNo, describeIssues(parsed.error), options, parsed.error);
    return undefined;
  }
  const { source, ...rest } = parsed.data;
  return { ...rest, source: source ?? SOURCE };
}

function malformed(line: string, lineNo: number, detail: string, options: TickReplayOptions, cause: unknown) {
  options.metrics?.inc(MALFORMED, { source: SOURCE });
  options.onMalformed?.(
    line,
    new MalformedPayloadError(SOURCE, `${options.path} line ${lineNo}`, detail, line, cause),
    lineNo,
  );
}

function csvObject(line: string, header: string[]): Record<string, unknown> {
  const cells = line.split(",");
  const out: Record<string, unknown> = {};
  header.forEach((name, i) => {
    const cell = (cells[i] ?? "").trim();
    if (!(CSV_COLUMNS as readonly string[]).includes(name)) return;
    if (cell === "") out[name] = null;
    else out[name] = NUMERIC.has(name) && cell !== "" && !Number.isNaN(Number(cell)) ? Number(cell) : cell;
  });
  return out;
}

async function* readLines(path: string | URL): AsyncGenerator<string> {
  const file = await Deno.open(path, { read: true });
  const decoder = new TextDecoderStream();
  let rest = "";
  try {
    for await (const chunk of file.readable.pipeThrough(decoder)) {
      rest += chunk;
      let nl: number;
      while ((nl = rest.indexOf("\n")) >= 0) {
        yield rest.slice(0, nl).replace(/\r$/, "");
        rest = rest.slice(nl + 1);
      }
    }
    if (rest !== "") yield rest;
  } finally {
    try {
      file.close();
    } catch { /* closed by the stream */ }
  }
}
