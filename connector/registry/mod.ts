/**
 * Schema registries: the `SchemaRegistry` contract, a Confluent-compatible HTTP client (Confluent, Redpanda,
 * Apicurio ccompat), an embedded file-backed registry, and Avro compatibility checks with avsc's resolver.
 *
 * @example
 * ```ts
 * const registry = openSchemaRegistry({ url: Deno.env.get("SCHEMA_REGISTRY_URL") }, "./data");
 * const id = await registry.register("market.ticks-value", schemaText);
 * ```
 *
 * @module
 */
export * from "./schema_registry.ts";
export * from "./registry_errors.ts";
export { checkAvroCompatibility, parseAvroSchema } from "./avro_compatibility.ts";
export { HttpSchemaRegistry, type HttpSchemaRegistryOptions } from "./http_schema_registry.ts";
export { EmbeddedSchemaRegistry, type EmbeddedSchemaRegistryOptions } from "./embedded_schema_registry.ts";
export { openSchemaRegistry, type SchemaRegistryConnection } from "./open_schema_registry.ts";
export {
  checkCatalogHistory,
  DEFAULT_SCHEMAS_DIR,
  loadSchemaCatalog,
  type SchemaCatalog,
  type SchemaVersion,
  type SubjectSchemas,
} from "./schema_catalog.ts";
export { checkCatalog, type SubjectCheck } from "./check_catalog.ts";
export { registerCatalog, type SubjectRegistration } from "./register_catalog.ts";
