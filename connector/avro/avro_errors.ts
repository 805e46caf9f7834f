/**
 * Errors of the Avro serde. Each names what was wrong with the record, and none of those is retriable: the same
 * bytes fail the same way again, so the record belongs in the dead-letter topic. The one exception is
 * `SchemaLookupError`: the registry could not be asked (unreachable, timed out, 5xx, refused us), which says
 * nothing about the record, so it is retriable and a consumer backs its partition up instead of dead-lettering.
 *
 * @module
 */

/** The bytes are not in the Confluent wire format (too short, or no magic byte 0). */
export class NotAvroError extends Error {
  override name = "NotAvroError";
  readonly retriable = false;
  /** Length of the rejected bytes. */
  readonly length: number;
  /** The first byte, if any. */
  readonly firstByte?: number;
  constructor(reason: string, bytes: Uint8Array | null) {
    super(`Not a Confluent Avro record: ${reason}`);
    this.length = bytes?.length ?? 0;
    this.firstByte = bytes?.[0];
  }
}

/** The record names a schema id the registry does not know. */
export class UnknownSchemaIdError extends Error {
  override name = "UnknownSchemaIdError";
  readonly retriable = false;
  readonly schemaId: number;
  constructor(schemaId: number, options?: { cause?: unknown }) {
    super(`Unknown schema id ${schemaId}: the registry has no schema with this id`, options);
    this.schemaId = schemaId;
  }
}

/**
 * The writer schema of a record could not be fetched: the registry failed to answer (network error, timeout,
 * 5xx, authentication). The record is not at fault; retry once the registry answers.
 */
export class SchemaLookupError extends Error {
  override name = "SchemaLookupError";
  readonly retriable = true;
  readonly schemaId: number;
  constructor(schemaId: number, options?: { cause?: unknown }) {
    const why = options?.cause instanceof Error ? `: ${options.cause.message}` : "";
    super(`Cannot fetch the writer schema id ${schemaId} from the registry${why}`, options);
    this.schemaId = schemaId;
  }
}

/** The Avro body does not decode with the writer schema the record names. */
export class AvroDecodeError extends Error {
  override name = "AvroDecodeError";
  readonly retriable = false;
  readonly schemaId: number;
  /** Length of the Avro body (after the 5-byte header). */
  readonly bodyLength: number;
  constructor(schemaId: number, bodyLength: number, reason: string, options?: { cause?: unknown }) {
    super(`Cannot decode Avro body (${bodyLength} bytes) with schema id ${schemaId}: ${reason}`, options);
    this.schemaId = schemaId;
    this.bodyLength = bodyLength;
  }
}

/** A value does not match the schema it is encoded with. */
export class AvroEncodeError extends Error {
  override name = "AvroEncodeError";
  readonly retriable = false;
  readonly subject: string;
  readonly schemaId: number;
  /** Dotted paths of the offending fields, e.g. `price` or `bid`. */
  readonly paths: string[];
  constructor(subject: string, schemaId: number, paths: string[], options?: { cause?: unknown }) {
    const where = paths.length > 0 ? `invalid field(s) ${paths.join(", ")}` : "value is not valid";
    super(`Cannot encode a value for subject "${subject}" with schema id ${schemaId}: ${where}`, options);
    this.subject = subject;
    this.schemaId = schemaId;
    this.paths = paths;
  }
}

/**
 * A record to encode, or bytes to decode, exceed the serde's `maxRecordBytes` (the log's own size limit is the
 * connector's `RecordTooLargeError`).
 */
export class AvroRecordTooLargeError extends Error {
  override name = "AvroRecordTooLargeError";
  readonly retriable = false;
  readonly size: number;
  readonly limit: number;
  constructor(size: number, limit: number, doing: "encode" | "decode") {
    super(`Record too large to ${doing}: ${size} bytes exceeds the limit of ${limit} bytes`);
    this.size = size;
    this.limit = limit;
  }
}

/** No schema is registered under the subject a value is encoded for. */
export class NoSchemaForSubjectError extends Error {
  override name = "NoSchemaForSubjectError";
  readonly retriable = false;
  readonly subject: string;
  constructor(subject: string) {
    super(
      `Cannot encode for subject "${subject}": no schema is registered (run \`deno task schemas register\`)`,
    );
    this.subject = subject;
  }
}
