/**
 * The Confluent wire format: magic byte 0, the schema id as a 4-byte big-endian unsigned integer, then the
 * Avro binary body.
 *
 * ```
 * +------+----------------+------------------+
 * | 0x00 | schema id (BE) | Avro binary body |
 * +------+----------------+------------------+
 *   1 B        4 B             rest
 * ```
 *
 * @module
 */
import { NotAvroError } from "./avro_errors.ts";

/** The first byte of every Confluent-framed record. */
export const MAGIC_BYTE = 0;
/** Bytes before the Avro body. */
export const HEADER_LENGTH = 5;

/**
 * Frames an Avro body with its schema id.
 * @throws {RangeError} if `schemaId` is not an unsigned 32-bit integer
 */
export function frameConfluent(schemaId: number, body: Uint8Array): Uint8Array {
  if (!Number.isInteger(schemaId) || schemaId < 0 || schemaId > 0xffff_ffff) {
    throw new RangeError(`Cannot frame a record: schema id ${schemaId} is not an unsigned 32-bit integer`);
  }
  const out = new Uint8Array(HEADER_LENGTH + body.length);
  out[0] = MAGIC_BYTE;
  new DataView(out.buffer).setUint32(1, schemaId, false);
  out.set(body, HEADER_LENGTH);
  return out;
}

/**
 * Splits a Confluent-framed record into its schema id and Avro body (a view, not a copy).
 * @throws {NotAvroError} if the bytes are null, shorter than 5 bytes, or do not start with the magic byte
 */
export function parseConfluentFrame(bytes: Uint8Array | null): { schemaId: number; body: Uint8Array } {
  if (bytes === null) throw new NotAvroError("the value is null (a tombstone)", null);
  if (bytes.length < HEADER_LENGTH) {
    throw new NotAvroError(`${bytes.length} bytes is shorter than the 5-byte header`, bytes);
  }
  if (bytes[0] !== MAGIC_BYTE) {
    throw new NotAvroError(
      `first byte is 0x${bytes[0]!.toString(16).padStart(2, "0")}, expected magic byte 0x00`,
      bytes,
    );
  }
  const schemaId = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(1, false);
  return { schemaId, body: bytes.subarray(HEADER_LENGTH) };
}
