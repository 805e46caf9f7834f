/**
 * Limits on what a read-only `*.query` tool returns, and the collector that enforces them.
 *
 * @module
 */

/** Limits of one query. */
export interface QueryCaps {
  /** Most rows returned (default 1000). */
  maxRows: number;
  /** Most bytes of JSON returned, summed over rows (default 1 MiB). */
  maxBytes: number;
  /** Statement timeout in milliseconds (default 5000). */
  timeoutMs: number;
}

/** Defaults of {@linkcode QueryCaps}. */
export const DEFAULT_QUERY_CAPS: Readonly<QueryCaps> = { maxRows: 1000, maxBytes: 1 << 20, timeoutMs: 5000 };

/** What a query tool returns. */
export interface CappedRows {
  [key: string]: unknown;
  rows: Record<string, unknown>[];
  rowCount: number;
  /** JSON bytes of the returned rows. */
  bytes: number;
  /** true when more rows existed than were returned. */
  truncated: boolean;
  /** Which cap cut the result, when truncated. */
  truncatedBy: "rows" | "bytes" | null;
}

const encoder = new TextEncoder();

/** Collects rows until a cap is reached. */
export class RowCollector {
  readonly #rows: Record<string, unknown>[] = [];
  readonly #maxRows: number;
  readonly #maxBytes: number;
  #bytes = 0;
  #truncatedBy: "rows" | "bytes" | null = null;

  /** @param caps Row and byte caps. */
  constructor(caps: Pick<QueryCaps, "maxRows" | "maxBytes">) {
    this.#maxRows = caps.maxRows;
    this.#maxBytes = caps.maxBytes;
  }

  /**
   * Adds a row unless a cap is reached.
   *
   * @returns false once the result is full (the row was not added): stop reading.
   */
  add(row: Record<string, unknown>): boolean {
    if (this.#truncatedBy) return false;
    if (this.#rows.length >= this.#maxRows) {
      this.#truncatedBy = "rows";
      return false;
    }
    const size = encoder.encode(JSON.stringify(row)).length;
    if (this.#bytes + size > this.#maxBytes) {
      this.#truncatedBy = "bytes";
      return false;
    }
    this.#bytes += size;
    this.#rows.push(row);
    return true;
  }

  /** The collected result. */
  result(): CappedRows {
    return {
      rows: this.#rows,
      rowCount: this.#rows.length,
      bytes: this.#bytes,
      truncated: this.#truncatedBy !== null,
      truncatedBy: this.#truncatedBy,
    };
  }
}

/**
 * Plain JSON values from a driver row (`Date` → ISO string, `bigint` → decimal string, bytes → base64).
 *
 * @param row A row as the driver returned it.
 * @returns A JSON-safe copy.
 */
export function jsonRow(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) out[k] = jsonValue(v);
  return out;
}

function jsonValue(v: unknown): unknown {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  if (typeof v === "bigint") return v.toString();
  if (v instanceof Uint8Array) return btoa(String.fromCharCode(...v));
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  if (Array.isArray(v)) return v.map(jsonValue);
  return v;
}
