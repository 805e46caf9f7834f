/**
 * A file-backed schema registry for the embedded default (no registry service configured). It behaves like a
 * Confluent registry for the calls qistream makes: global ids, versions per subject, per-subject
 * compatibility (BACKWARD by default) enforced with avsc's resolver. State is one JSON file, rewritten
 * atomically (temp file + rename) after each change. Single-process only.
 *
 * @module
 */
import { dirname } from "node:path";
import { checkAvroCompatibility, parseAvroSchema } from "./avro_compatibility.ts";
import { IncompatibleSchemaError, InvalidSchemaError, SchemaNotFoundError } from "./registry_errors.ts";
import {
  type CompatibilityLevel,
  type CompatibilityResult,
  DEFAULT_COMPATIBILITY,
  normalizeSchema,
  parseCompatibilityLevel,
  type RegisteredSchema,
  type SchemaRegistry,
} from "./schema_registry.ts";

interface RegistryState {
  nextId: number;
  defaultCompatibility: CompatibilityLevel;
  schemas: Record<string, string>;
  subjects: Record<string, { versions: number[]; compatibility?: CompatibilityLevel }>;
}

/** Options of `EmbeddedSchemaRegistry`. */
export interface EmbeddedSchemaRegistryOptions {
  /** The JSON file holding the registry, e.g. `<dataDir>/schema-registry.json`; created on first write. */
  path: string;
  /** Level of subjects without an override; default BACKWARD. */
  defaultCompatibility?: CompatibilityLevel;
}

/** The embedded, file-backed registry. */
export class EmbeddedSchemaRegistry implements SchemaRegistry {
  readonly kind = "embedded";
  readonly path: string;
  readonly #default: CompatibilityLevel;
  #state?: Promise<RegistryState>;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: EmbeddedSchemaRegistryOptions) {
    if (!options.path) throw new TypeError("Cannot open the embedded schema registry: path is empty");
    this.path = options.path;
    this.#default = options.defaultCompatibility ?? DEFAULT_COMPATIBILITY;
  }

  #load(): Promise<RegistryState> {
    this.#state ??= (async () => {
      try {
        const state = JSON.parse(await Deno.readTextFile(this.path)) as RegistryState;
        return state;
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) {
          return { nextId: 1, defaultCompatibility: this.#default, schemas: {}, subjects: {} };
        }
        throw new Error(
          `Cannot read the embedded schema registry at ${this.path}: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
    })();
    return this.#state;
  }

  async #save(state: RegistryState): Promise<void> {
    await Deno.mkdir(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.tmp-${crypto.randomUUID()}`;
    await Deno.writeTextFile(tmp, JSON.stringify(state, null, 2));
    await Deno.rename(tmp, this.path);
  }

  /** Runs mutations one at a time, so concurrent registrations see each other. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => {});
    return run;
  }

  #history(state: RegistryState, subject: string): { version: number; schema: string }[] {
    const ids = state.subjects[subject]?.versions ?? [];
    return ids.map((id, i) => ({ version: i + 1, schema: state.schemas[String(id)]! }));
  }

  #level(state: RegistryState, subject: string): CompatibilityLevel {
    return state.subjects[subject]?.compatibility ?? state.defaultCompatibility;
  }

  register(subject: string, schema: string | object): Promise<number> {
    return this.#serial(async () => {
      const state = await this.#load();
      let text: string;
      try {
        text = normalizeSchema(schema);
        parseAvroSchema(text);
      } catch (err) {
        throw new InvalidSchemaError(subject, (err as Error).message, { cause: err });
      }
      const entry = state.subjects[subject];
      const existingId = Object.entries(state.schemas).find(([, s]) => s === text)?.[0];
      if (entry && existingId !== undefined && entry.versions.includes(Number(existingId))) {
        return Number(existingId);
      }
      const level = this.#level(state, subject);
      const check = checkAvroCompatibility(level, text, this.#history(state, subject));
      if (!check.compatible) throw new IncompatibleSchemaError(subject, check.messages, { level });
      const id = existingId !== undefined ? Number(existingId) : state.nextId++;
      state.schemas[String(id)] = text;
      (state.subjects[subject] ??= { versions: [] }).versions.push(id);
      await this.#save(state);
      return id;
    });
  }

  async getById(id: number): Promise<string> {
    if (!Number.isInteger(id) || id < 0) {
      throw new RangeError(`Cannot look up schema id: ${id} is not a non-negative integer`);
    }
    const state = await this.#load();
    const text = state.schemas[String(id)];
    if (text === undefined) throw new SchemaNotFoundError(id);
    return text;
  }

  async latest(subject: string): Promise<RegisteredSchema | null> {
    const state = await this.#load();
    const versions = state.subjects[subject]?.versions ?? [];
    const id = versions.at(-1);
    if (id === undefined) return null;
    return { subject, id, version: versions.length, schema: state.schemas[String(id)]! };
  }

  async checkCompatibility(subject: string, schema: string | object): Promise<CompatibilityResult> {
    const state = await this.#load();
    return checkAvroCompatibility(this.#level(state, subject), schema, this.#history(state, subject));
  }

  async getCompatibility(subject: string): Promise<CompatibilityLevel> {
    return this.#level(await this.#load(), subject);
  }

  setCompatibility(subject: string, level: CompatibilityLevel): Promise<void> {
    parseCompatibilityLevel(level);
    return this.#serial(async () => {
      const state = await this.#load();
      (state.subjects[subject] ??= { versions: [] }).compatibility = level;
      await this.#save(state);
    });
  }
}
