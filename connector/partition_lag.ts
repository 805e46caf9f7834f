/**
 * Consumer lag of one partition from the log's offsets: what the group has not committed yet.
 *
 * @module
 */
import type { PartitionOffsets } from "./types.ts";

/**
 * The next offset the group will consume: its committed offset, or the partition's low watermark when it has
 * committed nothing there (or its commit fell below retention).
 *
 * @example
 * ```ts
 * nextToConsume({ partition: 0, low: "10", high: "50" }); // "10"
 * ```
 */
export function nextToConsume(p: PartitionOffsets): string {
  if (p.committed === undefined) return p.low;
  return BigInt(p.committed) < BigInt(p.low) ? p.low : p.committed;
}

/**
 * Records of the partition the group has not committed: high watermark minus {@linkcode nextToConsume}, never
 * below 0. A partition the group never committed counts from its low watermark, so a consumer that never
 * started still shows its whole backlog.
 *
 * @example
 * ```ts
 * partitionLag({ partition: 0, low: "0", high: "50", committed: "42" }); // 8
 * partitionLag({ partition: 1, low: "5", high: "50" }); // 45
 * ```
 */
export function partitionLag(p: PartitionOffsets): number {
  const lag = BigInt(p.high) - BigInt(nextToConsume(p));
  return lag > 0n ? Number(lag) : 0;
}
