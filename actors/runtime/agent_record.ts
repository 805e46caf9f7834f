/**
 * Records as agents see them. Agents deal in plain values: the main thread Avro-encodes what an agent publishes
 * with the topic's schema, and decodes what it delivers, so Workers never hold registry clients.
 *
 * @module
 */
import type { ConsumedRecord, OutgoingRecord } from "../../connector/types.ts";

/**
 * A record an agent publishes. `value` is a plain object, encoded by the main thread with the newest schema of
 * the topic's subject (`<topic>-value`); a `Uint8Array` value is published as it is.
 */
export interface AgentRecord extends Omit<OutgoingRecord, "value"> {
  value: unknown;
}

/** A record delivered to an agent: `value` is the decoded Avro value (or the bytes when no decoder is set). */
export interface DeliveredRecord extends Omit<ConsumedRecord, "value"> {
  value: unknown;
}

/**
 * The records as they are, when every value is already bytes (or null).
 * @throws {TypeError} naming the first record whose value is not bytes
 */
export function bytesRecords(topic: string, records: AgentRecord[]): OutgoingRecord[] {
  records.forEach((record, i) => {
    if (record.value !== null && !(record.value instanceof Uint8Array)) {
      throw new TypeError(
        `Cannot publish to ${topic}: record ${i} has a ${typeof record
          .value} value and no encoder is set (expected bytes)`,
      );
    }
  });
  return records as OutgoingRecord[];
}
