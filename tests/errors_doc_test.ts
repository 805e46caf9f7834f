/**
 * docs/errors.md lists every error class of the source tree with its `retriable` default: a new class that is not
 * in the table fails here, so the one place that documents the contract stays complete.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);
const SKIP = /(^|\/)(tests|node_modules|\.cache|\.git)(\/|$)|_test\.ts$|_bench\.ts$/;

async function* sources(dir: URL, rel = ""): AsyncGenerator<[string, string]> {
  for await (const entry of Deno.readDir(dir)) {
    const path = rel ? `${rel}/${entry.name}` : entry.name;
    if (SKIP.test(path) || entry.name.startsWith(".")) continue;
    if (entry.isDirectory) yield* sources(new URL(`${entry.name}/`, dir), path);
    else if (entry.name.endsWith(".ts")) yield [path, await Deno.readTextFile(new URL(entry.name, dir))];
  }
}

Deno.test("docs/errors.md lists every exported error class with the module it lives in", async () => {
  const doc = await Deno.readTextFile(new URL("docs/errors.md", ROOT));
  const missing: string[] = [];
  let classes = 0;
  for await (const [path, text] of sources(ROOT)) {
    for (const m of text.matchAll(/export class (\w+) extends \w*Error\b/g)) {
      classes++;
      const row = new RegExp(`^\\| \`${m[1]}\` +\\| \`${path.replaceAll(".", "\\.")}\` +\\|`, "m");
      if (!row.test(doc)) missing.push(`${m[1]} (${path})`);
    }
  }
  assert.ok(classes >= 40, `found only ${classes} error classes: the scan is broken`);
  assert.deepEqual(missing, [], "add these to the class table of docs/errors.md");
});
