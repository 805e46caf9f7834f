/**
 * Kafka's default partitioner hash: murmur2 exactly as the Java client computes it
 * (`org.apache.kafka.common.utils.Utils.murmur2`), so a key lands on the partition a Java producer would pick.
 *
 * @module
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

const encoder = new TextEncoder();

/**
 * Computes Kafka's murmur2 hash of some bytes, as a signed 32-bit integer (the Java `int`).
 *
 * @param data The key bytes (a string is hashed as its UTF-8 bytes).
 * @returns The signed 32-bit hash.
 * @example
 * ```ts
 * murmur2("foobar"); // -790332482, as Java's Utils.murmur2("foobar".getBytes())
 * ```
 */
export function murmur2(data: Uint8Array | string): number {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  const length = bytes.length;
  let h = SEED ^ length;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = (bytes[i4]! & 0xff) | ((bytes[i4 + 1]! & 0xff) << 8) | ((bytes[i4 + 2]! & 0xff) << 16) |
      ((bytes[i4 + 3]! & 0xff) << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  const tail = length & ~3;
  const rest = length % 4;
  if (rest >= 3) h ^= (bytes[tail + 2]! & 0xff) << 16;
  if (rest >= 2) h ^= (bytes[tail + 1]! & 0xff) << 8;
  if (rest >= 1) {
    h ^= bytes[tail]! & 0xff;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/**
 * Kafka's `Utils.toPositive`: clears the sign bit (not `Math.abs`, which differs for negative numbers).
 *
 * @param n A signed 32-bit integer.
 * @returns `n & 0x7fffffff`.
 */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/**
 * The partition Kafka's default partitioner picks for a non-null key: `toPositive(murmur2(key)) % partitions`.
 *
 * @param key The record key (a string is taken as UTF-8 bytes).
 * @param partitions The topic's partition count.
 * @returns A partition number in `[0, partitions)`.
 * @throws {RangeError} If `partitions` is not a positive integer.
 * @example
 * ```ts
 * partitionForKey("BTC-USD", 12); // 9
 * ```
 */
export function partitionForKey(key: Uint8Array | string, partitions: number): number {
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw new RangeError(`Cannot choose a partition: partition count is ${partitions}`);
  }
  return toPositive(murmur2(key)) % partitions;
}
