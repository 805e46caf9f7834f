/**
 * The schema registry contract qistream's Avro serde and `schemas` commands rely on. Two implementations:
 * a Confluent-compatible HTTP client (Confluent, Redpanda, Apicurio's ccompat API) and an embedded file-backed
 * registry for the embedded default.
 *
 * Subjects follow the topic-name strategy: the value schema of topic `t` is registered under `t-value`.
 *
 * @module
 */

/** Compatibility levels, as Confluent names them. BACKWARD is the default everywhere in qistream. */
export const COMPATIBILITY_LEVELS = [
  "NONE",
  "BACKWARD",
  "BACKWARD_TRANSITIVE",
  "FORWARD",
  "FORWARD_TRANSITIVE",
  "FULL",
  "FULL_TRANSITIVE",
] as const;

/** One compatibility level. */
export type CompatibilityLevel = typeof COMPATIBILITY_LEVELS[number];

/** The default compatibility level of a subject with no override. */
export const DEFAULT_COMPATIBILITY: CompatibilityLevel = "BACKWARD";

/** One version of a subject as the registry holds it. */
export interface RegisteredSchema {
  subject: string;
  /** Global schema id (the 4 bytes of the Confluent wire format). */
  id: number;
  /** Version within the subject, from 1. */
  version: number;
  /** The Avro schema as JSON text. */
  schema: string;
}

/** Outcome of a compatibility check; `messages` says why when `compatible` is false. */
export interface CompatibilityResult {
  compatible: boolean;
  messages: string[];
}

/** A Confluent-style schema registry (Avro schemas only). */
export interface SchemaRegistry {
  /** Human-readable kind, e.g. `http` or `embedded`. */
  readonly kind: string;
  /**
   * Registers a schema under a subject (a no-op returning the existing id if it is already there).
   * @throws {IncompatibleSchemaError} if the schema breaks the subject's compatibility level.
   */
  register(subject: string, schema: string | object): Promise<number>;
  /**
   * The schema text of a global id.
   * @throws {SchemaNotFoundError} if no schema has that id.
   */
  getById(id: number): Promise<string>;
  /** The newest version of a subject, or `null` if the subject has no versions. */
  latest(subject: string): Promise<RegisteredSchema | null>;
  /** Whether `schema` could be registered under `subject` now; a subject with no versions accepts anything. */
  checkCompatibility(subject: string, schema: string | object): Promise<CompatibilityResult>;
  /** The subject's effective compatibility level (its override, else the registry default). */
  getCompatibility(subject: string): Promise<CompatibilityLevel>;
  /** Sets the subject's compatibility override. */
  setCompatibility(subject: string, level: CompatibilityLevel): Promise<void>;
}

/**
 * The value subject of a topic under the topic-name strategy; a name already ending in `-value` or `-key`
 * is returned as is.
 *
 * @example
 * ```ts
 * subjectForTopic("market.ticks"); // "market.ticks-value"
 * ```
 */
export function subjectForTopic(topicOrSubject: string): string {
  if (topicOrSubject === "") throw new TypeError("Cannot derive a subject: the topic name is empty");
  return /-(value|key)$/.test(topicOrSubject) ? topicOrSubject : `${topicOrSubject}-value`;
}

/** Returns `level` as a `CompatibilityLevel`, or throws a `RangeError` naming the accepted values. */
export function parseCompatibilityLevel(level: string): CompatibilityLevel {
  const upper = level.trim().toUpperCase();
  if ((COMPATIBILITY_LEVELS as readonly string[]).includes(upper)) return upper as CompatibilityLevel;
  throw new RangeError(
    `Cannot use compatibility level "${level}": expected one of ${COMPATIBILITY_LEVELS.join(", ")}`,
  );
}

/** Schema text in a stable compact form (parsed and re-serialised), used to compare and store schemas. */
export function normalizeSchema(schema: string | object): string {
  const parsed = typeof schema === "string" ? JSON.parse(schema) : schema;
  return JSON.stringify(parsed);
}
