/**
 * A Confluent-compatible schema registry client over `fetch`: Confluent Schema Registry, Redpanda, and
 * Apicurio Registry's ccompat API.
 *
 * One request per schema at a time: concurrent lookups of the same id, the same subject's latest version or the
 * same registration share one request (single flight), so a cold cache under a burst of records costs one GET,
 * not one per record. Ids are cached forever (they are immutable), registrations per subject and schema text.
 * The latest version of a subject is answered from cache; once it is older than `latestTtlMs` the cached answer
 * is still returned while one background request refreshes it (stale-while-revalidate), so an expiring entry
 * never makes callers wait or stampede the registry. A failed refresh keeps the cached answer and is tried again
 * no sooner than a second later.
 *
 * Apicurio serves the Confluent API under `/apis/ccompat/v7`; give either that URL or the bare base URL —
 * the client probes `<url>/subjects` and falls back to `<url>/apis/ccompat/v7` once.
 *
 * @module
 */
import {
  type CompatibilityLevel,
  type CompatibilityResult,
  normalizeSchema,
  parseCompatibilityLevel,
  type RegisteredSchema,
  type SchemaRegistry,
} from "./schema_registry.ts";
import { checkAvroCompatibility } from "./avro_compatibility.ts";
import {
  IncompatibleSchemaError,
  InvalidSchemaError,
  SchemaNotFoundError,
  SchemaRegistryError,
} from "./registry_errors.ts";

/** Options of `HttpSchemaRegistry`. */
export interface HttpSchemaRegistryOptions {
  /** Base URL, with or without Apicurio's `/apis/ccompat/v7`. */
  url: string;
  username?: string;
  password?: string;
  /** Per-request timeout; default 10 000 ms. */
  timeoutMs?: number;
  /**
   * Age after which `latest(subject)` refreshes its cached answer in the background; default 30 000 ms
   * (0: every call asks the registry, still one request at a time per subject).
   */
  latestTtlMs?: number;
  /** Injected fetch (tests); default the global `fetch`. */
  fetch?: typeof fetch;
}

const CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
const CCOMPAT_PATH = "/apis/ccompat/v7";
/** Least time between two refreshes of a subject's latest version after a failed one. */
const REFRESH_RETRY_MS = 1000;

interface ErrorBody {
  error_code?: number;
  message?: string;
}

/** Confluent-compatible HTTP registry client. */
export class HttpSchemaRegistry implements SchemaRegistry {
  readonly kind = "http";
  readonly #opts: Required<Omit<HttpSchemaRegistryOptions, "username" | "password">> & {
    auth?: string;
  };
  #base?: Promise<string>;
  readonly #byId = new Map<number, Promise<string>>();
  readonly #registered = new Map<string, Promise<number>>();
  readonly #latest = new Map<string, LatestEntry>();

  /** @throws {TypeError} if `url` is not an http(s) URL */
  constructor(options: HttpSchemaRegistryOptions) {
    const url = new URL(options.url);
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new TypeError(`Cannot use schema registry URL "${options.url}": expected http or https`);
    }
    this.#opts = {
      url: options.url.replace(/\/+$/, ""),
      timeoutMs: options.timeoutMs ?? 10_000,
      latestTtlMs: options.latestTtlMs ?? 30_000,
      fetch: options.fetch ?? fetch,
      auth: options.username !== undefined
        ? "Basic " + btoa(`${options.username}:${options.password ?? ""}`)
        : undefined,
    };
  }

  /** The base URL the client settled on (after the ccompat probe). */
  baseUrl(): Promise<string> {
    this.#base ??= this.#resolveBase().catch((err) => {
      this.#base = undefined;
      throw err;
    });
    return this.#base;
  }

  async #resolveBase(): Promise<string> {
    const url = this.#opts.url;
    if (url.includes("/apis/ccompat/")) return url;
    const plain = await this.#raw("GET", `${url}/subjects`);
    if (plain.ok && isJsonArray(plain.body)) return url;
    const ccompat = await this.#raw("GET", `${url}${CCOMPAT_PATH}/subjects`);
    if (ccompat.ok && isJsonArray(ccompat.body)) return `${url}${CCOMPAT_PATH}`;
    throw new SchemaRegistryError(
      `No Confluent-compatible registry API at ${url} (GET /subjects answered ${plain.status}, ` +
        `GET ${CCOMPAT_PATH}/subjects answered ${ccompat.status})`,
      { status: plain.status, retriable: plain.status >= 500 },
    );
  }

  async #raw(
    method: string,
    url: string,
    body?: unknown,
  ): Promise<{ ok: boolean; status: number; body: unknown }> {
    const headers: Record<string, string> = { accept: `${CONTENT_TYPE}, application/json` };
    if (body !== undefined) headers["content-type"] = CONTENT_TYPE;
    if (this.#opts.auth) headers.authorization = this.#opts.auth;
    let res: Response;
    try {
      res = await this.#opts.fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.#opts.timeoutMs),
      });
    } catch (err) {
      throw new SchemaRegistryError(
        `Schema registry request ${method} ${url} failed: ${(err as Error).message}`,
        {
          cause: err,
          retriable: true,
        },
      );
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text === "" ? null : JSON.parse(text);
    } catch { /* keep text */ }
    return { ok: res.ok, status: res.status, body: parsed };
  }

  async #request(method: string, path: string, body?: unknown): Promise<unknown> {
    const base = await this.baseUrl();
    const res = await this.#raw(method, `${base}${path}`, body);
    if (res.ok) return res.body;
    const err = (typeof res.body === "object" && res.body !== null ? res.body : {}) as ErrorBody;
    throw new HttpStatusError(
      method,
      path,
      res.status,
      err.error_code,
      err.message ?? String(res.body ?? ""),
    );
  }

  register(subject: string, schema: string | object): Promise<number> {
    let text: string;
    try {
      text = normalizeSchema(schema);
    } catch (err) {
      return Promise.reject(err);
    }
    const key = `${subject}\u0000${text}`;
    let p = this.#registered.get(key);
    if (!p) {
      p = this.#register(subject, text).catch((err) => {
        this.#registered.delete(key);
        throw err;
      });
      this.#registered.set(key, p);
    }
    return p;
  }

  async #register(subject: string, text: string): Promise<number> {
    try {
      const res = await this.#request("POST", `/subjects/${enc(subject)}/versions`, { schema: text }) as {
        id: number;
      };
      this.#byId.set(res.id, Promise.resolve(text));
      this.#latest.delete(subject);
      return res.id;
    } catch (err) {
      if (err instanceof HttpStatusError) {
        if (err.status === 409) {
          // Ask for the reasons; the register answer rarely carries them.
          const check = await this.checkCompatibility(subject, text).catch(() => null);
          const messages = check && !check.compatible && check.messages.length > 0
            ? check.messages
            : [err.detail];
          throw new IncompatibleSchemaError(subject, messages, {
            status: 409,
            errorCode: err.errorCode,
            cause: err,
          });
        }
        if (err.status === 422 || err.errorCode === 42201) {
          throw new InvalidSchemaError(subject, err.detail, { status: err.status, errorCode: err.errorCode });
        }
      }
      throw wrap(err, `register a schema under subject "${subject}"`);
    }
  }

  getById(id: number): Promise<string> {
    if (!Number.isInteger(id) || id < 0) {
      return Promise.reject(new RangeError(`Cannot look up schema id: ${id} is not a non-negative integer`));
    }
    let p = this.#byId.get(id);
    if (!p) {
      p = this.#request("GET", `/schemas/ids/${id}`).then(
        (body) => normalizeSchema((body as { schema: string }).schema),
        (err) => {
          this.#byId.delete(id);
          if (err instanceof HttpStatusError && err.status === 404) {
            throw new SchemaNotFoundError(id, { status: 404, errorCode: err.errorCode, cause: err });
          }
          throw wrap(err, `fetch schema id ${id}`);
        },
      );
      this.#byId.set(id, p);
    }
    return p;
  }

  latest(subject: string): Promise<RegisteredSchema | null> {
    const entry = this.#latest.get(subject);
    if (entry?.value === undefined) {
      // Cold: every caller waits for the one request in flight.
      return entry?.inflight ?? this.#refreshLatest(subject);
    }
    if (Date.now() - entry.at >= this.#opts.latestTtlMs) {
      // Nothing useful to serve meanwhile (no TTL, or the subject had no versions): wait for the answer.
      if (this.#opts.latestTtlMs === 0 || entry.value === null) {
        return entry.inflight ?? this.#refreshLatest(subject);
      }
      if (!entry.inflight && Date.now() >= entry.retryAt) {
        this.#refreshLatest(subject).catch(() => {/* keeps the cached answer; tried again later */});
      }
    }
    return Promise.resolve(entry.value);
  }

  /** Fetches the subject's latest version once, whoever asks meanwhile; updates the cache when it answers. */
  #refreshLatest(subject: string): Promise<RegisteredSchema | null> {
    const entry: LatestEntry = this.#latest.get(subject) ?? { at: 0, retryAt: 0 };
    this.#latest.set(subject, entry);
    const inflight = this.#fetchLatest(subject).then(
      (value) => {
        if (this.#latest.get(subject) === entry) {
          Object.assign(entry, { value, at: Date.now(), inflight: undefined });
        }
        return value;
      },
      (err) => {
        if (this.#latest.get(subject) === entry) {
          entry.inflight = undefined;
          entry.retryAt = Date.now() + REFRESH_RETRY_MS;
          if (entry.value === undefined) this.#latest.delete(subject);
        }
        throw err;
      },
    );
    entry.inflight = inflight;
    return inflight;
  }

  async #fetchLatest(subject: string): Promise<RegisteredSchema | null> {
    try {
      const body = await this.#request("GET", `/subjects/${enc(subject)}/versions/latest`) as {
        id: number;
        version: number;
        schema: string;
      };
      const value = { subject, id: body.id, version: body.version, schema: normalizeSchema(body.schema) };
      this.#byId.set(value.id, Promise.resolve(value.schema));
      return value;
    } catch (err) {
      if (err instanceof HttpStatusError && err.status === 404) return null;
      throw wrap(err, `fetch the latest version of subject "${subject}"`);
    }
  }

  async checkCompatibility(subject: string, schema: string | object): Promise<CompatibilityResult> {
    const text = normalizeSchema(schema);
    try {
      const body = await this.#request(
        "POST",
        `/compatibility/subjects/${enc(subject)}/versions/latest?verbose=true`,
        { schema: text },
      ) as { is_compatible: boolean; messages?: string[] };
      const compatible = body.is_compatible === true;
      const messages = body.messages ?? [];
      if (!compatible && messages.length === 0) {
        // Some registries (Apicurio) give no reason: explain with the same rules, locally.
        return { compatible, messages: await this.#explain(subject, text) };
      }
      return { compatible, messages };
    } catch (err) {
      if (err instanceof HttpStatusError && err.status === 404) {
        return { compatible: true, messages: [] };
      }
      if (err instanceof HttpStatusError && (err.status === 422 || err.errorCode === 42201)) {
        throw new InvalidSchemaError(subject, err.detail, { status: err.status, errorCode: err.errorCode });
      }
      throw wrap(err, `check compatibility for subject "${subject}"`);
    }
  }

  /** Reasons for an incompatibility the registry reported without any, from avsc's resolver. */
  async #explain(subject: string, schema: string): Promise<string[]> {
    const level = await this.getCompatibility(subject).catch(() => null);
    const fallback = `the registry reports the schema incompatible with subject "${subject}"` +
      `${level ? ` under ${level}` : ""} and gave no reason`;
    if (!level) return [fallback];
    try {
      const all = level.endsWith("_TRANSITIVE");
      const versions = all
        ? await this.#request("GET", `/subjects/${enc(subject)}/versions`) as number[]
        : [(await this.latest(subject))?.version ?? 0];
      const existing = [];
      for (const v of versions.filter((v) => v > 0)) {
        const body = await this.#request("GET", `/subjects/${enc(subject)}/versions/${v}`) as {
          schema: string;
        };
        existing.push({ version: v, schema: body.schema });
      }
      const local = checkAvroCompatibility(level, schema, existing);
      return local.messages.length > 0 ? local.messages : [fallback];
    } catch {
      return [fallback];
    }
  }

  async getCompatibility(subject: string): Promise<CompatibilityLevel> {
    let body: { compatibilityLevel?: string; compatibility?: string };
    try {
      body = await this.#request("GET", `/config/${enc(subject)}`) as typeof body;
    } catch (err) {
      if (!(err instanceof HttpStatusError && err.status === 404)) {
        throw wrap(err, `read the compatibility level of subject "${subject}"`);
      }
      try {
        body = await this.#request("GET", `/config`) as typeof body;
      } catch (err2) {
        throw wrap(err2, "read the registry's default compatibility level");
      }
    }
    const level = body.compatibilityLevel ?? body.compatibility;
    if (!level) {
      throw new SchemaRegistryError(`The registry sent no compatibility level for "${subject}"`, {
        retriable: false,
      });
    }
    return parseCompatibilityLevel(level);
  }

  async setCompatibility(subject: string, level: CompatibilityLevel): Promise<void> {
    parseCompatibilityLevel(level);
    try {
      await this.#request("PUT", `/config/${enc(subject)}`, { compatibility: level });
    } catch (err) {
      throw wrap(err, `set the compatibility level of subject "${subject}" to ${level}`);
    }
  }
}

function enc(s: string): string {
  return encodeURIComponent(s);
}

function isJsonArray(v: unknown): boolean {
  return Array.isArray(v);
}

/** A subject's cached latest version: `value` once known, the request in flight, when to retry a failed one. */
interface LatestEntry {
  value?: RegisteredSchema | null;
  at: number;
  retryAt: number;
  inflight?: Promise<RegisteredSchema | null>;
}

/** An HTTP answer outside 2xx, before it is mapped to a domain error. */
class HttpStatusError extends SchemaRegistryError {
  override name = "SchemaRegistryError";
  readonly detail: string;
  constructor(method: string, path: string, status: number, errorCode: number | undefined, detail: string) {
    super(
      `Schema registry answered ${status}${
        errorCode ? ` (error ${errorCode})` : ""
      } to ${method} ${path}: ${detail}`,
      { status, errorCode },
    );
    this.detail = detail;
  }
}

function wrap(err: unknown, doing: string): Error {
  if (err instanceof HttpStatusError) {
    return new SchemaRegistryError(`Cannot ${doing}: ${err.message}`, {
      status: err.status,
      errorCode: err.errorCode,
      cause: err,
    });
  }
  if (err instanceof SchemaRegistryError || err instanceof RangeError || err instanceof TypeError) return err;
  return new SchemaRegistryError(`Cannot ${doing}: ${(err as Error)?.message ?? String(err)}`, {
    cause: err,
  });
}
