/**
 * Avro schema compatibility by avsc's resolver: a reader schema can read a writer schema's data exactly when
 * `reader.createResolver(writer)` succeeds. The levels follow Confluent's definitions.
 *
 * @module
 */
import avsc from "avsc";
import type { CompatibilityLevel, CompatibilityResult } from "./schema_registry.ts";

/** Parses Avro schema text or object into an avsc type, throwing a `TypeError` that says what is wrong. */
export function parseAvroSchema(schema: string | object): avsc.Type {
  let parsed: unknown;
  try {
    parsed = typeof schema === "string" ? JSON.parse(schema) : schema;
  } catch (err) {
    throw new TypeError(`Cannot parse Avro schema: not JSON (${(err as Error).message})`, { cause: err });
  }
  try {
    return avsc.Type.forSchema(parsed as avsc.Schema);
  } catch (err) {
    throw new TypeError(`Cannot parse Avro schema: ${(err as Error).message}`, { cause: err });
  }
}

function canRead(reader: avsc.Type, writer: avsc.Type): string | null {
  try {
    reader.createResolver(writer);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * Checks a candidate schema against a subject's existing versions (oldest first) under a compatibility level.
 *
 * - BACKWARD: the candidate can read data written with the newest existing version.
 * - FORWARD: the newest existing version can read data written with the candidate.
 * - FULL: both. `_TRANSITIVE` variants check every existing version, not only the newest. NONE: anything goes.
 *
 * @param level the subject's compatibility level
 * @param candidate the new schema
 * @param existing the subject's versions, oldest first; their `version` numbers appear in the messages
 * @returns `compatible` and, when not, one message per broken rule naming the version and avsc's reason
 * @throws {TypeError} if a schema does not parse
 *
 * @example
 * ```ts
 * const r = checkAvroCompatibility("BACKWARD", v2, [{ version: 1, schema: v1 }]);
 * if (!r.compatible) console.error(r.messages.join("\n"));
 * ```
 */
export function checkAvroCompatibility(
  level: CompatibilityLevel,
  candidate: string | object,
  existing: { version: number; schema: string | object }[],
): CompatibilityResult {
  const next = parseAvroSchema(candidate);
  if (level === "NONE" || existing.length === 0) return { compatible: true, messages: [] };
  const transitive = level.endsWith("_TRANSITIVE");
  const against = transitive ? existing : existing.slice(-1);
  const backward = level.startsWith("BACKWARD") || level.startsWith("FULL");
  const forward = level.startsWith("FORWARD") || level.startsWith("FULL");
  const messages: string[] = [];
  for (const old of against) {
    const prev = parseAvroSchema(old.schema);
    if (backward) {
      const why = canRead(next, prev);
      if (why !== null) {
        messages.push(
          `${level}: the new schema cannot read data written with version ${old.version}: ${why}`,
        );
      }
    }
    if (forward) {
      const why = canRead(prev, next);
      if (why !== null) {
        messages.push(
          `${level}: version ${old.version} cannot read data written with the new schema: ${why}`,
        );
      }
    }
  }
  return { compatible: messages.length === 0, messages };
}
