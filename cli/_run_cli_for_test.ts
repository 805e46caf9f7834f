/** Test helper: runs `main.ts` in a subprocess with a controlled environment. */
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("../main.ts", import.meta.url));
const KEEP = ["PATH", "HOME", "DENO_DIR", "TMPDIR"];

/** Runs `deno run -A main.ts ...args` with only PATH/HOME/... plus `env`; returns the exit code and output. */
export async function runCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const base: Record<string, string> = {};
  for (const k of KEEP) {
    const v = Deno.env.get(k);
    if (v !== undefined) base[k] = v;
  }
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    env: { ...base, NO_COLOR: "1", ...env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}
