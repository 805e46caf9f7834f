/**
 * The main thread's side of `ctx.publish`: plain values are encoded with the newest schema of the topic's
 * subject (Confluent wire format) and tagged with a `schema` header naming the subject; bytes pass through
 * untouched; every record carries a `correlation-id`.
 *
 * @module
 */
import type { AgentRecord } from "../actors/runtime/agent_record.ts";
import type { AvroSerde } from "../connector/avro/mod.ts";
import { subjectForTopic } from "../connector/registry/mod.ts";
import type { OutgoingRecord, PublishedRecord, StreamConnector } from "../connector/types.ts";
import { CORRELATION_HEADER } from "../supervisor/mod.ts";

/** Encodes what agents publish and hands it to the connector; resolves when the log acknowledged it. */
export function avroPublisher(
  connector: StreamConnector,
  serde: AvroSerde,
): (topic: string, records: AgentRecord[]) => Promise<PublishedRecord[]> {
  return async (topic, records) => {
    const outgoing = await Promise.all(records.map(async (record): Promise<OutgoingRecord> => {
      const raw = record.value === null || record.value instanceof Uint8Array;
      const value = raw ? record.value as Uint8Array | null : await serde.encode(topic, record.value);
      const headers = { ...record.headers };
      headers[CORRELATION_HEADER] ??= crypto.randomUUID();
      if (!raw) headers.schema ??= subjectForTopic(topic);
      return { ...record, value, headers };
    }));
    return await connector.publish(topic, outgoing);
  };
}
