/**
 * Avro (avsc) in the Confluent wire format, with writer schemas resolved by id through a `SchemaRegistry`
 * and cached. Encoding uses the newest schema registered under the topic's value subject (`<topic>-value`).
 *
 * @module
 */
import avsc from "avsc";
import { Buffer } from "node:buffer";
import { parseAvroSchema } from "../registry/avro_compatibility.ts";
import { SchemaNotFoundError } from "../registry/registry_errors.ts";
import { type SchemaRegistry, subjectForTopic } from "../registry/schema_registry.ts";
import {
  AvroDecodeError,
  AvroEncodeError,
  AvroRecordTooLargeError,
  NoSchemaForSubjectError,
  SchemaLookupError,
  UnknownSchemaIdError,
} from "./avro_errors.ts";
import { frameConfluent, HEADER_LENGTH, parseConfluentFrame } from "./confluent_wire_format.ts";

/** Default size limit of an encoded record: 1 MiB, Kafka's default `message.max.bytes` neighbourhood. */
export const DEFAULT_MAX_RECORD_BYTES = 1_048_576;

/** Options of `AvroSerde`. */
export interface AvroSerdeOptions {
  registry: SchemaRegistry;
  /** Largest encoded record (header included) accepted by `encode` and `decode`; default 1 MiB. */
  maxRecordBytes?: number;
}

/** A decoded record. */
export interface DecodedAvro<T = unknown> {
  value: T;
  /** The writer schema id from the record's header. */
  schemaId: number;
  /** The writer schema's avsc type. */
  type: avsc.Type;
}

/** Encodes and decodes Confluent-framed Avro records. */
export class AvroSerde {
  readonly registry: SchemaRegistry;
  readonly maxRecordBytes: number;
  readonly #types = new Map<number, Promise<avsc.Type>>();
  readonly #resolvers = new WeakMap<avsc.Type, Map<number, avsc.Resolver>>();

  /** @throws {RangeError} if `maxRecordBytes` is not a positive integer */
  constructor(options: AvroSerdeOptions) {
    const max = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
    if (!Number.isInteger(max) || max <= HEADER_LENGTH) {
      throw new RangeError(`Cannot create an Avro serde: maxRecordBytes ${max} must be an integer above 5`);
    }
    this.registry = options.registry;
    this.maxRecordBytes = max;
  }

  /**
   * The avsc type of a schema id, fetched once from the registry (concurrent callers share the lookup).
   * @throws {UnknownSchemaIdError} if the registry confirms it has no such id
   * @throws {SchemaLookupError} (retriable) if the registry could not be asked
   */
  typeOf(schemaId: number): Promise<avsc.Type> {
    let p = this.#types.get(schemaId);
    if (!p) {
      p = this.registry.getById(schemaId).then(
        (text) => parseAvroSchema(text),
        (err) => {
          this.#types.delete(schemaId);
          if (err instanceof SchemaNotFoundError) throw new UnknownSchemaIdError(schemaId, { cause: err });
          throw new SchemaLookupError(schemaId, { cause: err });
        },
      );
      this.#types.set(schemaId, p);
    }
    return p;
  }

  /**
   * Encodes a value with the newest schema of the topic's value subject.
   *
   * @param topicOrSubject a topic (subject `<topic>-value`) or a subject ending in `-value`/`-key`
   * @param value the record, shaped as the schema says (timestamps as millisecond numbers)
   * @returns magic byte 0, the schema id (4 bytes, big-endian), the Avro body
   * @throws {NoSchemaForSubjectError} if nothing is registered under the subject
   * @throws {AvroEncodeError} naming the invalid fields if the value does not match the schema
   * @throws {AvroRecordTooLargeError} if the encoded record exceeds `maxRecordBytes`
   *
   * @example
   * ```ts
   * const bytes = await serde.encode("market.ticks", tick);
   * await connector.publish("market.ticks", [{ key: tick.symbol, value: bytes }]);
   * ```
   */
  async encode(topicOrSubject: string, value: unknown): Promise<Uint8Array> {
    const subject = subjectForTopic(topicOrSubject);
    const latest = await this.registry.latest(subject);
    if (!latest) throw new NoSchemaForSubjectError(subject);
    return this.encodeWithId(latest.id, value, subject);
  }

  /**
   * Encodes a value with a given schema id.
   * @throws {UnknownSchemaIdError} | {AvroEncodeError} | {AvroRecordTooLargeError}
   */
  async encodeWithId(schemaId: number, value: unknown, subject = `id ${schemaId}`): Promise<Uint8Array> {
    const type = await this.typeOf(schemaId);
    let body: Uint8Array;
    try {
      body = type.toBuffer(value);
    } catch (err) {
      const paths: string[] = [];
      type.isValid(value, { errorHook: (path) => paths.push(path.join(".") || "(root)") });
      throw new AvroEncodeError(subject, schemaId, paths, { cause: err });
    }
    const size = HEADER_LENGTH + body.length;
    if (size > this.maxRecordBytes) throw new AvroRecordTooLargeError(size, this.maxRecordBytes, "encode");
    return frameConfluent(schemaId, body);
  }

  /**
   * Decodes a Confluent-framed Avro record with its writer schema (resolved by id and cached), optionally
   * resolving it into a reader schema.
   *
   * @param bytes the record value
   * @param reader an avsc type to read into (schema evolution); default the writer schema
   * @throws {NotAvroError} if the bytes are too short or lack the magic byte
   * @throws {AvroRecordTooLargeError} if the bytes exceed `maxRecordBytes`
   * @throws {UnknownSchemaIdError} if the registry confirms it does not know the schema id (404)
   * @throws {SchemaLookupError} (retriable) if the registry could not be asked: the record is not at fault
   * @throws {AvroDecodeError} if the body does not decode (truncated, trailing bytes, bad data, no resolution)
   */
  async decode<T = unknown>(bytes: Uint8Array | null, reader?: avsc.Type): Promise<DecodedAvro<T>> {
    if (bytes !== null && bytes.length > this.maxRecordBytes) {
      throw new AvroRecordTooLargeError(bytes.length, this.maxRecordBytes, "decode");
    }
    const { schemaId, body } = parseConfluentFrame(bytes);
    const writer = await this.typeOf(schemaId);
    const target = reader ?? writer;
    const resolver = reader ? this.#resolver(reader, writer, schemaId, body.length) : undefined;
    const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    let decoded: { value: unknown; offset: number };
    try {
      decoded = target.decode(buf, 0, resolver);
    } catch (err) {
      throw new AvroDecodeError(schemaId, body.length, (err as Error).message, { cause: err });
    }
    if (decoded.offset < 0) {
      throw new AvroDecodeError(schemaId, body.length, "the body is truncated");
    }
    if (decoded.offset !== body.length) {
      throw new AvroDecodeError(
        schemaId,
        body.length,
        `${body.length - decoded.offset} trailing byte(s) after the value (wrong schema?)`,
      );
    }
    return { value: decoded.value as T, schemaId, type: writer };
  }

  #resolver(reader: avsc.Type, writer: avsc.Type, schemaId: number, bodyLength: number): avsc.Resolver {
    let byId = this.#resolvers.get(reader);
    if (!byId) this.#resolvers.set(reader, byId = new Map());
    let r = byId.get(schemaId);
    if (!r) {
      try {
        r = reader.createResolver(writer);
      } catch (err) {
        throw new AvroDecodeError(
          schemaId,
          bodyLength,
          `the reader schema cannot read this writer schema: ${(err as Error).message}`,
          { cause: err },
        );
      }
      byId.set(schemaId, r);
    }
    return r;
  }
}
