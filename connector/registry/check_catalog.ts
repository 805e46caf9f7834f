/**
 * Compares the local schema catalog with a registry: per subject, whether the local history is consistent and
 * whether the newest local version may be registered under the subject's declared compatibility level.
 *
 * @module
 */
import { checkAvroCompatibility } from "./avro_compatibility.ts";
import { checkCatalogHistory, type SchemaCatalog, type SubjectSchemas } from "./schema_catalog.ts";
import type { CompatibilityLevel, RegisteredSchema, SchemaRegistry } from "./schema_registry.ts";

/** The verdict for one subject. */
export interface SubjectCheck {
  subject: string;
  topic: string;
  /** The level declared in `subjects.yaml` (what `register` sets on the registry). */
  level: CompatibilityLevel;
  /** Newest local version number. */
  localVersion: number;
  /** The registry's newest version, or `null` when the subject is new. */
  registry: RegisteredSchema | null;
  /** The registry's own level for the subject, when it differs from the declared one. */
  registryLevel?: CompatibilityLevel;
  /**
   * `new`: not in the registry yet; `up-to-date`: the newest local version is the registry's latest;
   * `compatible`: a change that may be registered; `incompatible`: a change that breaks the level (see reasons).
   */
  status: "new" | "up-to-date" | "compatible" | "incompatible";
  /** Why the subject fails: broken local history and/or an incompatible change. Empty when it passes. */
  reasons: string[];
}

/**
 * Checks every subject of the catalog against the registry.
 *
 * A subject fails when two consecutive local versions break its level, or when the newest local version breaks
 * its level against the registry's latest version — checked locally with avsc's resolver (and, for
 * `_TRANSITIVE` levels, against every local version too) and by asking the registry.
 *
 * @returns one verdict per subject, in catalog order
 * @throws {SchemaRegistryError} if the registry cannot be reached
 */
export async function checkCatalog(
  catalog: SchemaCatalog,
  registry: SchemaRegistry,
): Promise<SubjectCheck[]> {
  const out: SubjectCheck[] = [];
  for (const s of catalog.subjects) out.push(await checkSubject(s, registry));
  return out;
}

async function checkSubject(s: SubjectSchemas, registry: SchemaRegistry): Promise<SubjectCheck> {
  const newest = s.versions.at(-1)!;
  const reasons: string[] = [];
  for (const h of checkCatalogHistory(s)) {
    for (const m of h.messages) reasons.push(`local v${h.version} vs earlier versions: ${m}`);
  }
  const latest = await registry.latest(s.subject);
  const base = { subject: s.subject, topic: s.topic, level: s.compatibility, localVersion: newest.version };
  if (!latest) {
    return { ...base, registry: null, status: reasons.length > 0 ? "incompatible" : "new", reasons };
  }
  const registryLevel = await registry.getCompatibility(s.subject);
  const levelNote = registryLevel !== s.compatibility ? { registryLevel } : {};
  if (latest.schema === newest.schema) {
    return {
      ...base,
      ...levelNote,
      registry: latest,
      status: reasons.length > 0 ? "incompatible" : "up-to-date",
      reasons,
    };
  }
  const local = checkAvroCompatibility(s.compatibility, newest.schema, [
    { version: latest.version, schema: latest.schema },
  ]);
  for (const m of local.messages) {
    reasons.push(`local v${newest.version} vs registry v${latest.version}: ${m}`);
  }
  if (local.compatible) {
    const remote = await registry.checkCompatibility(s.subject, newest.schema);
    if (!remote.compatible) {
      const why = remote.messages.length > 0 ? remote.messages.join("; ") : "no reason given";
      reasons.push(`the registry (level ${registryLevel}) refuses local v${newest.version}: ${why}`);
    }
  }
  return {
    ...base,
    ...levelNote,
    registry: latest,
    status: reasons.length > 0 ? "incompatible" : "compatible",
    reasons,
  };
}
