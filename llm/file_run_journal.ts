/**
 * A {@linkcode RunJournal} in a directory: one JSON file per run, replaced atomically (write, then rename), so a
 * Worker killed mid-write leaves the previous progress intact. The analyst's Worker may read and write exactly
 * this directory.
 *
 * @module
 */
import type { RunJournal, RunProgress } from "./workflow.ts";

/**
 * A journal under `dir` (created on first save).
 *
 * @param dir the directory, e.g. `./data/workflows/analyst`
 * @returns the journal
 */
export function fileRunJournal(dir: string): RunJournal {
  const file = (runId: string) => `${dir}/${runId.replace(/[^A-Za-z0-9._-]/g, "_")}.json`;
  return {
    async load(runId) {
      try {
        return JSON.parse(await Deno.readTextFile(file(runId))) as RunProgress;
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return undefined;
        throw error;
      }
    },
    async save(runId, progress) {
      await Deno.mkdir(dir, { recursive: true });
      const target = file(runId);
      const temporary = `${target}.${crypto.randomUUID()}.tmp`;
      await Deno.writeTextFile(temporary, JSON.stringify(progress));
      await Deno.rename(temporary, target);
    },
  };
}
