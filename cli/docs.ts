/**
 * `qistream docs [--check]`: writes the reference pages generated from the specs (docs/reference/agents.md
 * from the agent kinds, docs/reference/tools.md from the tool definitions), or, with `--check`, fails when the
 * committed pages differ from what the specs generate (`deno task check` runs it).
 *
 * @module
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { loadAgentRegistry } from "../pipeline/agent_registry.ts";
import { referencePages } from "../pipeline/reference_docs.ts";
import { declaredTools } from "../tools/tool_catalog.ts";
import { type Command, EXIT_FAILURE, EXIT_OK } from "./command.ts";
import { parseCommandArgs } from "./_parse_command_args.ts";

const USAGE = `Usage: qistream docs [--check]

Writes docs/reference/agents.md and docs/reference/tools.md from the agent specs and tool definitions.

Options:
  --check     write nothing; exit 1 naming the pages that differ from what the specs generate
  --dir PATH  the folder holding docs/ (default: this checkout)
  -h, --help  show this help`;

const ROOT = new URL("../", import.meta.url);

function toFileUrl(dir: string): URL {
  return pathToFileURL(resolve(dir) + "/");
}

/** `qistream docs`. */
export const docsCommand: Command = {
  name: "docs",
  summary: "write (or --check) the agent and tool reference pages generated from their specs",
  usage: USAGE,
  async run(args) {
    const parsed = parseCommandArgs(args, USAGE, {
      check: { type: "boolean" },
      dir: { type: "string" },
      help: { type: "boolean", short: "h" },
    }, false);
    if (typeof parsed === "number") return parsed;
    const pages = referencePages((await loadAgentRegistry()).kinds, declaredTools(), ROOT);
    const stale: string[] = [];
    for (const page of pages) {
      const file = new URL(page.path, parsed.values.dir ? toFileUrl(parsed.values.dir) : ROOT);
      const current = await Deno.readTextFile(file).catch(() => undefined);
      if (current === page.text) continue;
      if (parsed.values.check) stale.push(page.path);
      else {
        await Deno.mkdir(new URL(".", file), { recursive: true });
        await Deno.writeTextFile(file, page.text);
        console.log(`wrote ${page.path}`);
      }
    }
    if (stale.length > 0) {
      console.error(
        `Stale generated docs: ${
          stale.join(", ")
        } differ from what the specs generate; run \`deno task docs\`.`,
      );
      return EXIT_FAILURE;
    }
    return EXIT_OK;
  },
};
