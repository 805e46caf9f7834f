/**
 * Environment-variable shortcuts that override the configuration file.
 *
 * @module
 */

/** One shortcut: the variable and the path it sets. */
export interface EnvOverride {
  /** Environment variable name, e.g. `KAFKA_BROKERS`. */
  readonly variable: string;
  /** Path of the field it sets, e.g. `["connections", "kafka", "brokers"]`. */
  readonly path: readonly string[];
}

/**
 * Every supported shortcut. Setting one creates the enclosing section if the file has none, so
 * `KAFKA_BROKERS=localhost:9092` alone switches from the embedded log to Kafka.
 */
export const ENV_OVERRIDES: readonly EnvOverride[] = [
  { variable: "KAFKA_BROKERS", path: ["connections", "kafka", "brokers"] },
  { variable: "SCHEMA_REGISTRY_URL", path: ["connections", "schemaRegistry", "url"] },
  { variable: "DATABASE_URL", path: ["connections", "postgres", "url"] },
  { variable: "DATABASE_READ_URL", path: ["connections", "postgres", "readUrl"] },
  { variable: "CLICKHOUSE_URL", path: ["connections", "clickhouse", "url"] },
  { variable: "CLICKHOUSE_READ_URL", path: ["connections", "clickhouse", "readUrl"] },
  { variable: "OPENAI_API_KEY", path: ["connections", "llm", "apiKey"] },
  { variable: "OPENAI_BASE_URL", path: ["connections", "llm", "baseUrl"] },
  { variable: "OPENAI_MODEL", path: ["connections", "llm", "model"] },
  { variable: "CRYPTOCOMPARE_API_KEY", path: ["connections", "cryptocompare", "apiKey"] },
  { variable: "TWELVEDATA_API_KEY", path: ["connections", "twelvedata", "apiKey"] },
  { variable: "QISTREAM_DATA_DIR", path: ["node", "dataDir"] },
  { variable: "QISTREAM_HTTP_PORT", path: ["node", "http", "port"] },
];

/**
 * Applies {@link ENV_OVERRIDES} to a parsed (not yet validated) document. Unset or empty variables are ignored.
 *
 * @param doc the document (not modified)
 * @param env the variable lookup
 * @returns the new document and the names of the variables that were applied
 *
 * @example
 * ```ts
 * const { value } = applyEnvOverrides({}, (n) => n === "DATABASE_URL" ? "postgres://db/q" : undefined);
 * // value = { connections: { postgres: { url: "postgres://db/q" } } }
 * ```
 */
export function applyEnvOverrides(
  doc: unknown,
  env: (name: string) => string | undefined,
): { value: unknown; applied: string[] } {
  const root: Record<string, unknown> = isPlainObject(doc) ? structuredClone(doc) : {};
  const applied: string[] = [];
  for (const { variable, path } of ENV_OVERRIDES) {
    const found = env(variable);
    if (found === undefined || found === "") continue;
    let node = root;
    for (const key of path.slice(0, -1)) {
      const next = node[key];
      if (!isPlainObject(next)) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    node[path[path.length - 1]!] = found;
    applied.push(variable);
  }
  return { value: isPlainObject(doc) || applied.length > 0 ? root : doc, applied };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}
