/**
 * `qistream schemas check|register`: compares the Avro schemas in `schemas/` with the configured schema
 * registry (the embedded one in the data directory when none is configured) and registers them.
 *
 * @module
 */
import {
  checkCatalog,
  DEFAULT_SCHEMAS_DIR,
  loadSchemaCatalog,
  openSchemaRegistry,
  registerCatalog,
  type SubjectCheck,
} from "../connector/registry/mod.ts";
import { type Command, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "./command.ts";
import { loadCommandConfig } from "./_load_command_config.ts";
import { parseCommandArgs } from "./_parse_command_args.ts";

const USAGE = `Usage: qistream schemas <check|register> [--config PATH] [--schemas DIR]

  check     compare each subject's newest local schema with the registry's latest; fails (exit 1) on a
            change that breaks the subject's compatibility level, or on local versions that break it, and
            says why
  register  check, then register every new or changed subject and set its compatibility level

Subjects follow the topic-name strategy (<topic>-value); schemas/subjects.yaml maps topics to schema
directories (one .avsc file per version) and overrides the default level (BACKWARD) per subject.
The registry is connections.schemaRegistry (or SCHEMA_REGISTRY_URL); without one, the embedded registry
in the data directory is used.

Options:
  -c, --config PATH  pipeline file (default: $QISTREAM_CONFIG, else pipeline.yaml)
      --schemas DIR  schema folder (default: the project's schemas/)
  -h, --help         show this help`;

function describe(c: SubjectCheck): string {
  const head = `${c.subject} (${c.level}, local v${c.localVersion})`;
  const reg = c.registry ? `registry v${c.registry.version} id ${c.registry.id}` : "not in the registry";
  const level = c.registryLevel ? `; registry level is ${c.registryLevel}, register sets ${c.level}` : "";
  switch (c.status) {
    case "new":
      return `+ ${head}: new subject, ${reg}${level}`;
    case "up-to-date":
      return `= ${head}: up to date (${reg})${level}`;
    case "compatible":
      return `~ ${head}: compatible change from ${reg}${level}`;
    case "incompatible":
      return `! ${head}: INCOMPATIBLE (${reg})\n${c.reasons.map((r) => `    - ${r}`).join("\n")}`;
  }
}

/** `qistream schemas`. */
export const schemasCommand: Command = {
  name: "schemas",
  summary: "check or register the Avro schemas with the schema registry",
  usage: USAGE,
  async run(args, context) {
    const parsed = parseCommandArgs(args, USAGE, {
      config: { type: "string", short: "c" },
      schemas: { type: "string" },
      help: { type: "boolean", short: "h" },
    }, true);
    if (typeof parsed === "number") return parsed;
    const { values, positionals } = parsed;
    const action = positionals[0];
    if ((action !== "check" && action !== "register") || positionals.length > 1) {
      console.error(`Expected "check" or "register", got ${positionals.join(" ") || "nothing"}.\n\n${USAGE}`);
      return EXIT_USAGE;
    }

    const loaded = await loadCommandConfig(values.config ?? context.config);
    if (typeof loaded === "number") return loaded;
    const { config } = loaded;
    let catalog;
    try {
      catalog = await loadSchemaCatalog(values.schemas ?? DEFAULT_SCHEMAS_DIR);
    } catch (e) {
      console.error((e as Error).message);
      return EXIT_USAGE;
    }
    const registry = openSchemaRegistry(config.connections.schemaRegistry, config.node.dataDir);
    const where = config.connections.schemaRegistry?.url ?? `embedded registry in ${config.node.dataDir}`;

    try {
      const checks = await checkCatalog(catalog, registry);
      console.log(`Schemas in ${catalog.dir} against ${where}:`);
      for (const c of checks) console.log(describe(c));
      const bad = checks.filter((c) => c.status === "incompatible");
      const changes = checks.filter((c) => c.status === "new" || c.status === "compatible").length;
      if (bad.length > 0) {
        console.error(
          `FAILED: ${bad.length} subject(s) incompatible: ${bad.map((c) => c.subject).join(", ")}` +
            (action === "register" ? "; nothing was registered." : "."),
        );
        return EXIT_FAILURE;
      }
      if (action === "check") {
        console.log(`OK: ${checks.length} subject(s) checked, ${changes} to register.`);
        return EXIT_OK;
      }
      const done = await registerCatalog(catalog, registry, checks);
      for (const r of done) {
        if (r.registered.length === 0) continue;
        console.log(
          `registered ${r.subject}: ${r.registered.map((v) => `v${v.version} -> id ${v.id}`).join(", ")}`,
        );
      }
      const count = done.filter((r) => r.registered.length > 0).length;
      console.log(`OK: ${count} subject(s) registered, ${done.length - count} already up to date.`);
      return EXIT_OK;
    } catch (e) {
      console.error(`schemas ${action} failed: ${(e as Error).message}`);
      return EXIT_FAILURE;
    }
  },
};
