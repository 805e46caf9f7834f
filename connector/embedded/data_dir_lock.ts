/**
 * The single-process guard of the embedded log: a `LOCK` file in the data directory holding the owner's pid.
 * A lock left by a process that is gone (crash, kill -9) is taken over; a lock held by a live process, or by
 * another connector of this process, is refused with {@link DataDirLockedError}.
 *
 * @module
 */

import { join } from "node:path";
import { DataDirLockedError } from "./embedded_errors.ts";

const heldHere = new Set<string>();

/** A held data-directory lock. */
export interface DataDirLock {
  readonly path: string;
  /** Removes the lock file. */
  release(): Promise<void>;
}

/**
 * Takes the data directory's lock.
 *
 * @param dataDir The data directory (created if missing).
 * @returns The held lock.
 * @throws {DataDirLockedError} If a live process, or another connector of this process, holds it.
 */
export async function acquireDataDirLock(dataDir: string): Promise<DataDirLock> {
  await Deno.mkdir(dataDir, { recursive: true });
  const path = join(await Deno.realPath(dataDir), "LOCK");
  if (heldHere.has(path)) throw new DataDirLockedError(dataDir, Deno.pid);
  const content = JSON.stringify({
    pid: Deno.pid,
    hostname: Deno.hostname(),
    since: new Date().toISOString(),
  });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await Deno.writeTextFile(path, content, { createNew: true });
      heldHere.add(path);
      return {
        path,
        async release() {
          if (!heldHere.delete(path)) return;
          await Deno.remove(path).catch(() => {});
        },
      };
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
      const owner = await readOwner(path);
      if (owner !== null && owner !== Deno.pid && isAlive(owner)) {
        throw new DataDirLockedError(dataDir, owner);
      }
      // Stale: its process is gone (or it is our pid, left by an earlier run that had the same pid).
      await Deno.remove(path).catch(() => {});
    }
  }
  throw new DataDirLockedError(dataDir, (await readOwner(path)) ?? -1);
}

async function readOwner(path: string): Promise<number | null> {
  try {
    const pid = JSON.parse(await Deno.readTextFile(path)).pid;
    return Number.isInteger(pid) ? pid : null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  if (Deno.build.os === "linux") {
    try {
      Deno.statSync(`/proc/${pid}`);
      return true;
    } catch {
      return false;
    }
  }
  return true; // No portable liveness probe: assume the owner is alive; the user removes a stale LOCK by hand.
}
