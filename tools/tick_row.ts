/**
 * The row the `*.insert_rows` tools accept for table kind `tick`: the fields of `market.tick` v1
 * (schemas/market.tick/v1.avsc), `ts` in milliseconds since the epoch as in the Avro record, and the
 * provenance of the record it came from — `kafka_topic`, `kafka_partition`, `kafka_offset` — which identifies
 * it: the tables are idempotent on {@linkcode TICK_KEY}, so only a re-delivery of the same record collapses,
 * never two distinct ticks that share a symbol and a second (docs/sinks.md, "Idempotency key").
 *
 * @module
 */
import { z } from "zod";

/** Largest partition number (Kafka partitions are a 32-bit signed int). */
const MAX_PARTITION = 2 ** 31 - 1;
/** A Kafka offset as a decimal string of at most 19 digits (the database refuses one above 2^63 - 1). */
const OFFSET = /^(0|[1-9][0-9]{0,18})$/;

/** Zod schema of one tick row. */
export const tickRowSchema = z.object({
  symbol: z.string().min(1).describe("Normalised instrument symbol, e.g. BTC-USD"),
  source: z.string().min(1).describe("Publisher that produced the tick, e.g. cryptocompare"),
  exchange: z.string().nullish().describe("Venue, when known"),
  ts: z.number().int().describe("Event time, integer milliseconds since the epoch (UTC)"),
  price: z.number().describe("Last traded price"),
  bid: z.number().nullish().describe("Best bid"),
  ask: z.number().nullish().describe("Best ask"),
  volume: z.number().nullish().describe("Volume over the source's window"),
  kafka_topic: z.string().min(1).describe("Topic of the record the row came from"),
  kafka_partition: z.number().int().min(0).max(MAX_PARTITION).describe("Partition of that record"),
  kafka_offset: z.string().regex(OFFSET, "expected a decimal offset").describe(
    "Offset of that record, a decimal string (64-bit)",
  ),
});

/**
 * The idempotency key of a tick table, in both databases: the record's provenance (topic, partition, offset),
 * led by the columns queries select on. Two rows share it only when they came from the same record.
 */
export const TICK_KEY = ["symbol", "source", "ts", "kafka_topic", "kafka_partition", "kafka_offset"] as const;

/** One tick row. */
export type TickRow = z.infer<typeof tickRowSchema>;

/** The table kinds the tools can create and write; callers never send DDL. */
export const TABLE_KINDS = ["tick"] as const;

/** One of {@linkcode TABLE_KINDS}. */
export type TableKind = typeof TABLE_KINDS[number];

/** A row the tool or the database refused, by its index in the request. */
export interface RowError {
  /** Index of the row in the request's `rows`. */
  index: number;
  /** `validate`: refused by the tool's schema; `database`: refused by the database. */
  stage: "validate" | "database";
  /** Why. */
  error: string;
}

/** A valid row with its index in the request. */
export interface IndexedRow {
  index: number;
  row: TickRow;
}

/** One request row after {@linkcode checkTickRow}: the tick row, or why it is not one. */
export type CheckedTickRow = { row: TickRow; error?: undefined } | { row?: undefined; error: string };

const optionalNumber = (v: unknown) => v === undefined || v === null || Number.isFinite(v);

/**
 * Checks one request row against {@linkcode tickRowSchema}. A well-formed row (the usual case) is checked by
 * hand, without building zod issues; anything else goes through the schema itself, whose verdict and messages
 * are final, so the result is always the schema's.
 *
 * @param raw One element of the request's `rows`.
 * @returns The row (only the tick fields), or the schema's issues as one message.
 * @example
 * ```ts
 * const from = { kafka_topic: "market.ticks", kafka_partition: 0, kafka_offset: "42" };
 * checkTickRow({ symbol: "BTC-USD", source: "synthetic", ts: 1, price: 2, ...from }).row?.price; // 2
 * checkTickRow({ symbol: "BTC-USD", source: "synthetic", ts: 1.5, price: 2, ...from }).error; // "ts: Invalid ..."
 * ```
 */
export function checkTickRow(raw: unknown): CheckedTickRow {
  if (typeof raw === "object" && raw !== null && !Array.isArray(raw)) {
    const r = raw as Record<string, unknown>;
    const { symbol, source, exchange, ts, price, bid, ask, volume } = r;
    const { kafka_topic, kafka_partition, kafka_offset } = r;
    if (
      typeof symbol === "string" && symbol.length > 0 && typeof source === "string" && source.length > 0 &&
      (exchange === undefined || exchange === null || typeof exchange === "string") &&
      Number.isSafeInteger(ts) && Number.isFinite(price) &&
      optionalNumber(bid) && optionalNumber(ask) && optionalNumber(volume) &&
      typeof kafka_topic === "string" && kafka_topic.length > 0 && Number.isInteger(kafka_partition) &&
      (kafka_partition as number) >= 0 && (kafka_partition as number) <= MAX_PARTITION &&
      typeof kafka_offset === "string" && OFFSET.test(kafka_offset)
    ) {
      const row: TickRow = {
        symbol,
        source,
        ts: ts as number,
        price: price as number,
        kafka_topic,
        kafka_partition: kafka_partition as number,
        kafka_offset,
      };
      if ("exchange" in r) row.exchange = exchange as string | null;
      if ("bid" in r) row.bid = bid as number | null;
      if ("ask" in r) row.ask = ask as number | null;
      if ("volume" in r) row.volume = volume as number | null;
      return { row };
    }
  }
  const parsed = tickRowSchema.safeParse(raw);
  if (parsed.success) return { row: parsed.data };
  return { error: parsed.error.issues.map((i) => `${i.path.join(".") || "row"}: ${i.message}`).join("; ") };
}

const { $schema: _, ...tickRowJsonSchema } = z.toJSONSchema(tickRowSchema, { io: "input" });

/**
 * The `rows[]` element of the `*.insert_rows` tools' input schema: accepts any value and checks it once with
 * {@linkcode checkTickRow}, so that one bad row is reported by index instead of failing the call. It is
 * advertised (JSON Schema) as a tick row.
 */
export const tickRowInputSchema = z.unknown().transform(checkTickRow).meta(tickRowJsonSchema);

/**
 * Splits checked request rows into valid tick rows (with their indexes) and per-row validation errors.
 *
 * @param rows The request's rows, as parsed by {@linkcode tickRowInputSchema}.
 * @returns Valid rows and errors, each with its index in `rows`.
 */
export function splitTickRows(rows: readonly CheckedTickRow[]): { valid: IndexedRow[]; errors: RowError[] } {
  const valid: IndexedRow[] = [];
  const errors: RowError[] = [];
  rows.forEach((checked, index) => {
    if (checked.row) valid.push({ index, row: checked.row });
    else errors.push({ index, stage: "validate", error: checked.error });
  });
  return { valid, errors };
}

/**
 * Splits raw request rows into valid tick rows and per-row validation errors ({@linkcode checkTickRow} of
 * each, then {@linkcode splitTickRows}); for callers that did not parse them with {@linkcode tickRowInputSchema}.
 *
 * @param rows The request's rows, as received.
 * @returns Valid rows (with their indexes) and errors.
 */
export function validateTickRows(rows: readonly unknown[]): { valid: IndexedRow[]; errors: RowError[] } {
  return splitTickRows(rows.map(checkTickRow));
}

/** Zod schema of a table identifier: a plain lowercase SQL identifier (quoted by the tools anyway). */
export const tableIdentifierSchema = z.string().regex(
  /^[a-z_][a-z0-9_]{0,62}$/,
  "expected a lowercase identifier",
)
  .describe("Table name (lowercase identifier)");

/** {@linkcode tableIdentifierSchema} defaulting to `ticks`. */
export const tableNameSchema = tableIdentifierSchema.default("ticks").describe(
  "Table name (lowercase identifier); default ticks",
);
