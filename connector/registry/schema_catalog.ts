/**
 * The local schema catalog: `schemas/subjects.yaml` (topic → schema directory, per-subject compatibility) and
 * the `.avsc` files, one per version (`schemas/<name>/v1.avsc`, `v2.avsc`, ...).
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { checkAvroCompatibility, parseAvroSchema } from "./avro_compatibility.ts";
import {
  type CompatibilityLevel,
  type CompatibilityResult,
  DEFAULT_COMPATIBILITY,
  normalizeSchema,
  parseCompatibilityLevel,
  subjectForTopic,
} from "./schema_registry.ts";

/** The repository's `schemas/` folder. */
export const DEFAULT_SCHEMAS_DIR: string = fileURLToPath(new URL("../../schemas/", import.meta.url));

/** One version file of a schema. */
export interface SchemaVersion {
  version: number;
  /** Path of the `.avsc` file. */
  path: string;
  /** Normalised schema text. */
  schema: string;
}

/** Everything the catalog knows about one subject. */
export interface SubjectSchemas {
  topic: string;
  /** `<topic>-value`. */
  subject: string;
  /** Directory name under `schemas/`, e.g. `market.tick`. */
  name: string;
  compatibility: CompatibilityLevel;
  /** Versions, oldest first (never empty). */
  versions: SchemaVersion[];
}

/** The loaded catalog. */
export interface SchemaCatalog {
  dir: string;
  defaultCompatibility: CompatibilityLevel;
  subjects: SubjectSchemas[];
}

/**
 * Loads `subjects.yaml` and every version file, validating each schema with avsc.
 *
 * @param dir the schemas folder; default the repository's `schemas/`
 * @throws {Error} naming the file and what is wrong (missing file, bad YAML, bad schema, a gap in versions)
 */
export async function loadSchemaCatalog(dir: string = DEFAULT_SCHEMAS_DIR): Promise<SchemaCatalog> {
  const file = join(dir, "subjects.yaml");
  let raw: unknown;
  try {
    raw = parseYaml(await Deno.readTextFile(file));
  } catch (err) {
    throw new Error(`Cannot read the schema catalog ${file}: ${(err as Error).message}`, { cause: err });
  }
  const doc = (raw ?? {}) as { defaultCompatibility?: string; topics?: Record<string, unknown> };
  const defaultCompatibility = doc.defaultCompatibility
    ? parseCompatibilityLevel(doc.defaultCompatibility)
    : DEFAULT_COMPATIBILITY;
  const subjects: SubjectSchemas[] = [];
  for (const [topic, entryRaw] of Object.entries(doc.topics ?? {})) {
    const entry = (entryRaw ?? {}) as { schema?: unknown; compatibility?: unknown };
    if (typeof entry.schema !== "string" || entry.schema === "") {
      throw new Error(`${file}: topics.${topic}.schema: expected the name of a directory under ${dir}`);
    }
    let compatibility = defaultCompatibility;
    if (entry.compatibility !== undefined) {
      try {
        compatibility = parseCompatibilityLevel(String(entry.compatibility));
      } catch (err) {
        throw new Error(`${file}: topics.${topic}.compatibility: ${(err as Error).message}`);
      }
    }
    subjects.push({
      topic,
      subject: subjectForTopic(topic),
      name: entry.schema,
      compatibility,
      versions: await loadVersions(join(dir, entry.schema)),
    });
  }
  return { dir, defaultCompatibility, subjects };
}

async function loadVersions(dir: string): Promise<SchemaVersion[]> {
  const found: SchemaVersion[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      const m = /^v(\d+)\.avsc$/.exec(e.name);
      if (!e.isFile || !m) continue;
      const path = join(dir, e.name);
      const text = await Deno.readTextFile(path);
      try {
        parseAvroSchema(text);
      } catch (err) {
        throw new Error(`${path}: ${(err as Error).message}`, { cause: err });
      }
      found.push({ version: Number(m[1]), path, schema: normalizeSchema(text) });
    }
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new Error(`Schema directory ${dir} does not exist`);
    throw err;
  }
  found.sort((a, b) => a.version - b.version);
  if (found.length === 0) throw new Error(`Schema directory ${dir} has no v<N>.avsc files`);
  found.forEach((v, i) => {
    if (v.version !== i + 1) {
      throw new Error(
        `Schema directory ${dir}: versions must be v1, v2, ... without gaps; found v${v.version} at #${
          i + 1
        }`,
      );
    }
  });
  return found;
}

/**
 * Checks that each local version is compatible with the ones before it under the subject's level, so a
 * history that could never have been registered in order is caught before any registry is asked.
 *
 * @returns one result per version after the first, as `{version, ...CompatibilityResult}`
 */
export function checkCatalogHistory(s: SubjectSchemas): ({ version: number } & CompatibilityResult)[] {
  return s.versions.slice(1).map((v, i) => ({
    version: v.version,
    ...checkAvroCompatibility(s.compatibility, v.schema, s.versions.slice(0, i + 1)),
  }));
}
