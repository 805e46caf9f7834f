/**
 * Benchmark results as a table of rates beside their same-run baselines, with ratios.
 *
 * @module
 */

/** One measured rate and, when it has one, the baseline it is compared with. */
export interface BenchRow {
  name: string;
  /** Units per second. */
  rate: number;
  unit: string;
  /** The baseline's name and rate, measured in the same run. */
  baseline?: { name: string; rate: number };
  note?: string;
}

/** What a benchmark returns: its printed report and the rows behind it (the CI gate reads the ratios). */
export interface BenchResult {
  report: string;
  rows: BenchRow[];
}

/** Formats a rate with thousands separators. */
export function formatRate(rate: number): string {
  return Math.round(rate).toLocaleString("en-US");
}

/** The rows as an aligned text table; the ratio column is `rate / baseline`. */
export function formatBenchTable(title: string, rows: BenchRow[]): string {
  const lines = rows.map((row) => [
    row.name,
    `${formatRate(row.rate)} ${row.unit}`,
    row.baseline ? `${formatRate(row.baseline.rate)} ${row.unit}` : "",
    row.baseline ? `${(row.rate / row.baseline.rate).toFixed(2)}×` : "",
    row.baseline?.name ?? row.note ?? "",
  ]);
  const header = ["measure", "rate", "baseline", "ratio", "baseline is"];
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const format = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [title, format(header), format(widths.map((w) => "-".repeat(w))), ...lines.map(format)].join("\n");
}

/** Records per second for `count` records over `ms` milliseconds. */
export function perSecond(count: number, ms: number): number {
  return count / (ms / 1000);
}
