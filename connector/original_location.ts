/**
 * Where a record was first published, even after a dead-letter replay moved a copy of it to a new offset.
 * Imports nothing, so an agent's Worker can use it.
 *
 * @module
 */

/**
 * Headers a replayed record carries: where the record was first published. A sink keys its rows by these
 * rather than by the replayed copy's own offset, so a replay stores the row under the key it would have had,
 * and replaying twice (or a record that was stored after all) stores nothing new. They survive a second
 * dead-lettering of the replayed copy, so its replay points at the first original too.
 */
export const DLQ_ORIGINAL_HEADERS = {
  topic: "dlq.original.topic",
  partition: "dlq.original.partition",
  offset: "dlq.original.offset",
} as const;

/**
 * Where a record was first published: the {@linkcode DLQ_ORIGINAL_HEADERS} of a replayed record, else the
 * record's own topic, partition and offset.
 *
 * @param record a consumed (or delivered) record
 * @returns its original location
 *
 * @example
 * ```ts
 * const { topic, partition, offset } = originalLocation(record);
 * ```
 */
export function originalLocation(
  record: { topic: string; partition: number; offset: string; headers: Record<string, string> },
): { topic: string; partition: number; offset: string } {
  const h = record.headers;
  const topic = h[DLQ_ORIGINAL_HEADERS.topic];
  const partition = Number(h[DLQ_ORIGINAL_HEADERS.partition]);
  const offset = h[DLQ_ORIGINAL_HEADERS.offset];
  if (topic && Number.isInteger(partition) && partition >= 0 && offset && /^\d+$/.test(offset)) {
    return { topic, partition, offset };
  }
  return { topic: record.topic, partition: record.partition, offset: record.offset };
}
