/**
 * The schemas of the declared topics: each topic's value schema (its `schema` field, else the mapping in
 * `schemas/subjects.yaml`) as a catalog the registry can check and register, subject `<topic>-value`.
 *
 * @module
 */
import type { SchemaCatalog } from "../connector/registry/mod.ts";
import type { TopicConfig } from "../core/config_schema.ts";

/**
 * The catalog restricted to the declared topics, with topics that name a schema explicitly added.
 * @throws {RangeError} naming the topic when its `schema` is not a folder of the catalog
 */
export function topicSchemas(catalog: SchemaCatalog, topics: Record<string, TopicConfig>): SchemaCatalog {
  const subjects = Object.entries(topics).flatMap(([topic, config]) => {
    const mapped = catalog.subjects.find((s) => s.topic === topic);
    const name = config.schema ?? mapped?.name;
    if (!name) return [];
    const source = mapped?.name === name ? mapped : catalog.subjects.find((s) => s.name === name);
    if (!source) {
      const known = [...new Set(catalog.subjects.map((s) => s.name))].join(", ");
      throw new RangeError(`topics.${topic}.schema: no schema "${name}" in ${catalog.dir} (known: ${known})`);
    }
    return [{
      ...source,
      topic,
      subject: `${topic}-value`,
      compatibility: mapped?.compatibility ?? source.compatibility,
    }];
  });
  return { ...catalog, subjects };
}
