// A LogFs that injects faults into the files whose path contains `match` (test helper, not in mod.ts).
import { denoLogFs, type LogFile, type LogFs } from "./log_fs.ts";

/** An error as the OS reports a full disk. */
export function enospc(): Error {
  return Object.assign(new Error("No space left on device (os error 28)"), { code: "ENOSPC" });
}

/** Fails the next `writes` writes (after writing half their bytes), `syncs` fsyncs and `reads` reads. */
export class FaultyFs implements LogFs {
  writes = 0;
  syncs = 0;
  reads = 0;
  /** Faults hit only files whose path contains this (e.g. `/t/1/` for partition 1 of topic t). */
  match = "";
  /** Faults injected so far. */
  injected = 0;

  async open(path: string, options: Deno.OpenOptions): Promise<LogFile> {
    const file = await denoLogFs.open(path, options);
    const hit = () => path.includes(this.match);
    // deno-lint-ignore no-this-alias
    const fs = this;
    return {
      async write(data) {
        if (hit() && fs.writes > 0) {
          fs.writes--;
          fs.injected++;
          await file.write(data.subarray(0, Math.floor(data.length / 2))); // a torn write, then a full disk
          throw enospc();
        }
        return await file.write(data);
      },
      async read(buffer) {
        if (hit() && fs.reads > 0) {
          fs.reads--;
          fs.injected++;
          throw Object.assign(new Error("Input/output error (os error 5)"), { code: "EIO" });
        }
        return await file.read(buffer);
      },
      seek: (offset, whence) => file.seek(offset, whence),
      async syncData() {
        if (hit() && fs.syncs > 0) {
          fs.syncs--;
          fs.injected++;
          throw enospc();
        }
        await file.syncData();
      },
      truncate: (length) => file.truncate(length),
      close: () => file.close(),
    };
  }
}
