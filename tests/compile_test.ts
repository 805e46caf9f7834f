/**
 * The single binary: `deno task compile` must produce an executable that runs the qistream CLI.
 *
 * The test reads the `compile` task from deno.json and runs that exact `deno compile` invocation (only the
 * output path moves to a temporary directory), so it cannot drift from the task the Dockerfile uses.
 *
 * `deno compile` needs its `denort` runtime, downloaded from dl.deno.land unless it is cached or `DENORT_BIN`
 * points at one. Where neither is possible the compile tests are ignored with that reason.
 *
 * @module
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const DENO = Deno.execPath();
const COMPILE_TIMEOUT_MS = 600_000;
const RUN_TIMEOUT_MS = 30_000;
const SKIP_REASON =
  "deno compile needs the denort runtime from dl.deno.land, unreachable here; set DENORT_BIN to run this test";

/** Arguments of deno.json's `compile` task (after `deno`), with the `--output` value replaced by `output`. */
async function compileArgs(output: string): Promise<string[]> {
  const task = await compileTask();
  const words = task.trim().split(/\s+/);
  assert.equal(words[0], "deno", `tasks.compile must start with "deno": ${task}`);
  assert.equal(words[1], "compile", `tasks.compile must run "deno compile": ${task}`);
  const args = words.slice(1);
  const at = args.findIndex((w) => w === "--output" || w === "-o");
  if (at >= 0 && at + 1 < args.length) {
    args[at + 1] = output;
  } else {
    // --output=path form, or none at all: put ours in place of it, before the entry point.
    const inline = args.findIndex((w) => w.startsWith("--output=") || w.startsWith("-o="));
    if (inline >= 0) args.splice(inline, 1);
    args.splice(args.length - 1, 0, "--output", output);
  }
  return args;
}

/** The `compile` task string from deno.json. */
async function compileTask(): Promise<string> {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)) as {
    tasks?: Record<string, unknown>;
  };
  const task = config.tasks?.["compile"];
  assert.equal(typeof task, "string", "deno.json must define tasks.compile");
  assert.doesNotMatch(
    task as string,
    /["'&|;<>$`]/,
    "tasks.compile must be a plain command (no shell syntax)",
  );
  return task as string;
}

/** Runs `deno <args>` in the repository root; never throws on a non-zero exit. */
async function deno(args: string[], cwd = ROOT, timeoutMs = COMPILE_TIMEOUT_MS) {
  const out = await new Deno.Command(DENO, {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    killed: out.signal !== null,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}

/** True when a failed `deno compile` could not fetch the denort runtime (an error, or a download that hung). */
function isRuntimeDownloadFailure(r: { killed: boolean; stderr: string }): boolean {
  if (!/dl\.deno\.land|denort/i.test(r.stderr)) return false;
  return r.killed ||
    /error sending request|dns error|\(Connect\)|timed out|Setting up base binary/i.test(r.stderr);
}

/**
 * Whether `deno compile` can get its runtime here: DENORT_BIN is set, or compiling a one-line module works
 * (the runtime is cached or dl.deno.land is reachable). Any other failure is not a reason to skip.
 */
async function probeRuntime(): Promise<{ ok: boolean; detail: string }> {
  if (Deno.env.get("DENORT_BIN")) return { ok: true, detail: "DENORT_BIN is set" };
  const dir = await Deno.makeTempDir({ prefix: "denort_probe_" });
  try {
    await Deno.writeTextFile(`${dir}/probe.ts`, "console.log('probe');\n");
    const r = await deno(
      ["compile", "--no-check", "--output", `${dir}/probe`, `${dir}/probe.ts`],
      dir,
      60_000,
    );
    if (r.code === 0) return { ok: true, detail: "denort available" };
    if (isRuntimeDownloadFailure(r)) {
      const cause = r.stderr.split("\n").find((l) => /error sending request|dns error/.test(l));
      return { ok: false, detail: (cause ?? (r.killed ? "download timed out" : "download failed")).trim() };
    }
    // Any other failure is the real test's to report, not a reason to skip it.
    return { ok: true, detail: `probe failed for another reason: ${r.stderr}` };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const probe = await probeRuntime();
if (!probe.ok) {
  console.warn(`tests/compile_test.ts: skipping compile tests: ${SKIP_REASON} (${probe.detail})`);
}

Deno.test("the Dockerfile builds the binary with the compile task, at the path the task writes", async () => {
  const task = await compileTask();
  assert.match(task, /--output(\s+|=)dist\/qistream(\s|$)/, "tasks.compile must write dist/qistream");
  assert.match(task, /\smain\.ts$/, "tasks.compile must compile main.ts");
  const dockerfile = await Deno.readTextFile(`${ROOT}Dockerfile`);
  assert.match(dockerfile, /^RUN deno task compile\b/m, "the Dockerfile must run `deno task compile`");
  assert.match(dockerfile, /COPY --from=build\b.*\/app\/dist\/qistream\s+\/app\/qistream/);
  assert.match(dockerfile, /^ENTRYPOINT \["\/app\/qistream"\]$/m);
  // Every path the task embeds with --include must be sent to the build (not excluded by .dockerignore).
  const ignored = (await Deno.readTextFile(`${ROOT}.dockerignore`)).split("\n").map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#")).map((l) => l.replace(/\/$/, ""));
  const includes = [...task.matchAll(/--include(?:\s+|=)(\S+)/g)].map((m) => m[1]!.replace(/\/$/, ""));
  for (const inc of includes) {
    assert.ok(!ignored.includes(inc), `.dockerignore excludes ${inc}, which compile embeds`);
  }
});

Deno.test({
  name: "deno task compile produces a binary that runs the qistream CLI",
  ignore: !probe.ok,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "compile_test_" });
    try {
      const binary = `${dir}/qistream${Deno.build.os === "windows" ? ".exe" : ""}`;
      const built = await deno(await compileArgs(binary));
      assert.equal(built.code, 0, `deno compile failed:\n${built.stderr}`);

      const info = await Deno.stat(binary);
      assert.ok(info.isFile, "the compile output is a file");
      if (Deno.build.os !== "windows") {
        assert.ok((info.mode ?? 0) & 0o111, "the compile output is executable");
      }

      // Run it from an empty directory, so it cannot lean on the checkout's sources.
      const run = await new Deno.Command(binary, {
        args: ["help"],
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1" },
        signal: AbortSignal.timeout(RUN_TIMEOUT_MS),
      }).output();
      const text = new TextDecoder().decode(run.stdout) + new TextDecoder().decode(run.stderr);
      assert.equal(run.code, 0, `\`qistream help\` exited with ${run.code}:\n${text}`);
      assert.match(text, /qistream/i, `help output does not name the CLI:\n${text}`);
      assert.match(text, /\bstart\b/, `help output does not list the start command:\n${text}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
