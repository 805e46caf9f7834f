import assert from "node:assert/strict";
import { EXIT_OK, EXIT_USAGE } from "./command.ts";
import { parseCommandArgs } from "./_parse_command_args.ts";

const OPTIONS = { config: { type: "string", short: "c" }, help: { type: "boolean", short: "h" } } as const;

function quietly<T>(fn: () => T): { result: T; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  console.error = (...a: unknown[]) => err.push(a.join(" "));
  try {
    return { result: fn(), out, err };
  } finally {
    console.log = log;
    console.error = error;
  }
}

Deno.test("parseCommandArgs returns the values and positionals", () => {
  const parsed = parseCommandArgs(["plan", "-c", "p.yaml"], "USAGE", OPTIONS, true);
  assert.notEqual(typeof parsed, "number");
  if (typeof parsed === "number") return;
  assert.equal(parsed.values.config, "p.yaml");
  assert.deepEqual(parsed.positionals, ["plan"]);
});

Deno.test("parseCommandArgs prints the error and the usage to stderr on an unknown option, exit 2", () => {
  const { result, out, err } = quietly(() => parseCommandArgs(["--nope"], "USAGE", OPTIONS, true));
  assert.equal(result, EXIT_USAGE);
  assert.deepEqual(out, []);
  assert.match(err.join("\n"), /--nope[\s\S]*\n\nUSAGE$/);
});

Deno.test("parseCommandArgs refuses positionals when they are not allowed", () => {
  const { result } = quietly(() => parseCommandArgs(["extra"], "USAGE", OPTIONS, false));
  assert.equal(result, EXIT_USAGE);
});

Deno.test("parseCommandArgs prints the usage to stdout on --help, exit 0", () => {
  const { result, out, err } = quietly(() => parseCommandArgs(["-h"], "USAGE", OPTIONS, false));
  assert.equal(result, EXIT_OK);
  assert.deepEqual(out, ["USAGE"]);
  assert.deepEqual(err, []);
});
