/**
 * Which actor instance owns a partition: a stable function of the partition and the instance ids, so an
 * instance's restart never moves its partitions and per-key order holds.
 *
 * @module
 */
import type { TopicPartition } from "../connector/types.ts";

/**
 * The instance that owns a partition: instance `(partition + h(topic)) mod N` in the given (stable) order, so
 * one topic's partitions spread evenly and several topics do not all start at instance 0.
 *
 * @param tp The partition.
 * @param instances Instance ids, in a fixed order (e.g. `sink-0`, `sink-1`).
 * @returns The owning instance id.
 * @throws {RangeError} When there are no instances.
 * @example
 * ```ts
 * assignPartition({ topic: "t", partition: 5 }, ["a", "b"]); // always the same one of "a" | "b"
 * ```
 */
export function assignPartition(tp: TopicPartition, instances: readonly string[]): string {
  if (instances.length === 0) throw new RangeError("Cannot assign a partition: there are no instances");
  const index = (tp.partition + topicHash(tp.topic)) % instances.length;
  return instances[index]!;
}

function topicHash(topic: string): number {
  let h = 0;
  for (let i = 0; i < topic.length; i++) h = (h * 31 + topic.charCodeAt(i)) >>> 0;
  return h;
}
