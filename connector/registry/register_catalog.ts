/**
 * Registers the local schema catalog with a registry, after checking it.
 *
 * @module
 */
import { checkCatalog, type SubjectCheck } from "./check_catalog.ts";
import { IncompatibleSchemaError } from "./registry_errors.ts";
import type { SchemaCatalog } from "./schema_catalog.ts";
import type { SchemaRegistry } from "./schema_registry.ts";

/** What `registerCatalog` did for one subject. */
export interface SubjectRegistration {
  subject: string;
  /** Local versions registered now, with their ids (empty when the subject was up to date). */
  registered: { version: number; id: number }[];
  /** The id of the newest local version. */
  latestId: number;
}

/**
 * Checks the catalog (see `checkCatalog`) and, only if every subject passes, registers it: a new subject gets
 * every local version in order (so registry versions match file versions) and then its declared compatibility
 * level; an existing subject first gets its declared level, then the newest local version.
 *
 * @returns one entry per subject, in catalog order
 * @throws {IncompatibleSchemaError} naming the first failing subject and every reason, before anything is
 *   registered
 * @throws {SchemaRegistryError} if the registry cannot be reached
 *
 * @example
 * ```ts
 * await registerCatalog(await loadSchemaCatalog(), registry);
 * ```
 */
export async function registerCatalog(
  catalog: SchemaCatalog,
  registry: SchemaRegistry,
  checks?: SubjectCheck[],
): Promise<SubjectRegistration[]> {
  const verdicts = checks ?? await checkCatalog(catalog, registry);
  const failed = verdicts.find((c) => c.status === "incompatible");
  if (failed) throw new IncompatibleSchemaError(failed.subject, failed.reasons, { level: failed.level });
  const out: SubjectRegistration[] = [];
  for (const s of catalog.subjects) {
    const verdict = verdicts.find((c) => c.subject === s.subject);
    const registered: { version: number; id: number }[] = [];
    if (verdict?.status === "up-to-date" && verdict.registry) {
      if (verdict.registryLevel) await registry.setCompatibility(s.subject, s.compatibility);
      out.push({ subject: s.subject, registered, latestId: verdict.registry.id });
      continue;
    }
    const isNew = (await registry.latest(s.subject)) === null;
    if (isNew) {
      for (const v of s.versions) {
        registered.push({ version: v.version, id: await registry.register(s.subject, v.schema) });
      }
      await registry.setCompatibility(s.subject, s.compatibility);
    } else {
      await registry.setCompatibility(s.subject, s.compatibility);
      const newest = s.versions.at(-1)!;
      registered.push({ version: newest.version, id: await registry.register(s.subject, newest.schema) });
    }
    out.push({ subject: s.subject, registered, latestId: registered.at(-1)!.id });
  }
  return out;
}
