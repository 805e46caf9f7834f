/**
 * Avro in the Confluent wire format (magic byte 0, 4-byte big-endian schema id, Avro body) with avsc, and the
 * typed errors a bad record produces.
 *
 * @example
 * ```ts
 * const serde = new AvroSerde({ registry });
 * const bytes = await serde.encode("market.ticks", tick);
 * const { value, schemaId } = await serde.decode(bytes);
 * ```
 *
 * @module
 */
export {
  AvroSerde,
  type AvroSerdeOptions,
  type DecodedAvro,
  DEFAULT_MAX_RECORD_BYTES,
} from "./avro_serde.ts";
export { frameConfluent, HEADER_LENGTH, MAGIC_BYTE, parseConfluentFrame } from "./confluent_wire_format.ts";
export {
  AvroDecodeError,
  AvroEncodeError,
  AvroRecordTooLargeError,
  NoSchemaForSubjectError,
  NotAvroError,
  SchemaLookupError,
  UnknownSchemaIdError,
} from "./avro_errors.ts";
