/**
 * How tests find the real services: the launcher (`deno task test`) exports their addresses; a test that needs
 * one which is absent is skipped, and its name says what it needs.
 *
 * @module
 */

/** Addresses of the test services, `undefined` where the variable is unset. */
export const services = {
  kafkaBrokers: Deno.env.get("KAFKA_BROKERS")?.split(",").map((b) => b.trim()).filter(Boolean),
  schemaRegistryUrl: Deno.env.get("SCHEMA_REGISTRY_URL"),
  databaseUrl: Deno.env.get("DATABASE_URL"),
  clickhouseUrl: Deno.env.get("CLICKHOUSE_URL"),
};

/**
 * Options for `Deno.test` that skip the test, with the reason in its name, when a variable is unset.
 *
 * @example
 * ```ts
 * Deno.test({ ...needs("KAFKA_BROKERS"), name: "produces a record", fn: async () => {} });
 * ```
 */
export function needs(...variables: string[]): { ignore: boolean } {
  return { ignore: variables.some((name) => !Deno.env.get(name)) };
}

/** A name unique to this test run, for topics, groups, tables and subjects. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${crypto.randomUUID().slice(0, 8)}`;
}
