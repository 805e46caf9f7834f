/**
 * Chooses the registry for a configuration: the HTTP client when a registry URL is configured, else the
 * embedded file-backed registry in the data directory.
 *
 * @module
 */
import { join } from "node:path";
import { EmbeddedSchemaRegistry } from "./embedded_schema_registry.ts";
import { HttpSchemaRegistry } from "./http_schema_registry.ts";
import type { SchemaRegistry } from "./schema_registry.ts";

/** The `connections.schemaRegistry` section of the configuration. */
export interface SchemaRegistryConnection {
  url?: string;
  username?: string;
  password?: string;
}

/** File name of the embedded registry inside the data directory. */
export const EMBEDDED_REGISTRY_FILE = "schema-registry.json";

/**
 * Opens the configured registry.
 *
 * @param connection the registry connection; with no `url` the embedded registry is used
 * @param dataDir where the embedded registry keeps `schema-registry.json`
 */
export function openSchemaRegistry(
  connection: SchemaRegistryConnection | undefined,
  dataDir: string,
): SchemaRegistry {
  if (connection?.url) {
    return new HttpSchemaRegistry({
      url: connection.url,
      username: connection.username,
      password: connection.password,
    });
  }
  return new EmbeddedSchemaRegistry({ path: join(dataDir, EMBEDDED_REGISTRY_FILE) });
}
