/**
 * Errors of the schema registry clients. Each names the subject or id involved; `retriable` says whether
 * trying again later may succeed (network failures and 5xx answers).
 *
 * @module
 */
import type { CompatibilityLevel } from "./schema_registry.ts";

/** A registry request failed (network, authentication, or an unexpected answer). */
export class SchemaRegistryError extends Error {
  override name = "SchemaRegistryError";
  /** HTTP status, when the registry answered. */
  readonly status?: number;
  /** Confluent `error_code`, when the registry sent one. */
  readonly errorCode?: number;
  readonly retriable: boolean;
  constructor(
    message: string,
    opts: { status?: number; errorCode?: number; retriable?: boolean; cause?: unknown } = {},
  ) {
    super(message, { cause: opts.cause });
    this.status = opts.status;
    this.errorCode = opts.errorCode;
    this.retriable = opts.retriable ??
      (opts.status === undefined || opts.status >= 500 || opts.status === 429);
  }
}

/** No schema has the given global id. */
export class SchemaNotFoundError extends SchemaRegistryError {
  override name = "SchemaNotFoundError";
  readonly schemaId: number;
  constructor(schemaId: number, opts: { status?: number; errorCode?: number; cause?: unknown } = {}) {
    super(`Schema id ${schemaId} is not known to the registry`, { ...opts, retriable: false });
    this.schemaId = schemaId;
  }
}

/** A schema was refused because it breaks the subject's compatibility level. */
export class IncompatibleSchemaError extends SchemaRegistryError {
  override name = "IncompatibleSchemaError";
  readonly subject: string;
  readonly level?: CompatibilityLevel;
  /** Why, one reason per line. */
  readonly messages: string[];
  constructor(
    subject: string,
    messages: string[],
    opts: { level?: CompatibilityLevel; status?: number; errorCode?: number; cause?: unknown } = {},
  ) {
    const level = opts.level ? ` (${opts.level})` : "";
    super(
      `Schema is incompatible with subject "${subject}"${level}: ${messages.join("; ") || "no reason given"}`,
      { ...opts, retriable: false },
    );
    this.subject = subject;
    this.level = opts.level;
    this.messages = messages;
  }
}

/** The schema text is not a valid Avro schema. */
export class InvalidSchemaError extends SchemaRegistryError {
  override name = "InvalidSchemaError";
  readonly subject: string;
  constructor(
    subject: string,
    reason: string,
    opts: { status?: number; errorCode?: number; cause?: unknown } = {},
  ) {
    super(`Invalid Avro schema for subject "${subject}": ${reason}`, { ...opts, retriable: false });
    this.subject = subject;
  }
}
