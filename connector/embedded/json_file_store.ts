/**
 * A small JSON document kept in one file, replaced atomically (write a temporary file, fsync, rename).
 * Saves coalesce: while one write runs, later `save()` calls share the next write, so frequent commits
 * cost one write per round rather than one per call.
 *
 * @module
 */

import { dirname } from "node:path";
import { syncDir } from "./_sync_dir.ts";

/** A JSON document persisted in a file. */
export class JsonFileStore<T> {
  readonly path: string;
  /** The live document; mutate it, then call `save()`. */
  data: T;
  #inflight: Promise<void> | null = null;
  #next: Promise<void> | null = null;

  private constructor(path: string, data: T) {
    this.path = path;
    this.data = data;
  }

  /**
   * Loads the document, or starts from `initial` if the file does not exist.
   *
   * @param path The file.
   * @param initial The document to use when there is no file yet.
   * @returns The store.
   */
  static async open<T>(path: string, initial: T): Promise<JsonFileStore<T>> {
    try {
      return new JsonFileStore(path, JSON.parse(await Deno.readTextFile(path)) as T);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return new JsonFileStore(path, initial);
      throw new Error(`Cannot read "${path}": ${(e as Error).message}`, { cause: e });
    }
  }

  /**
   * Persists the document as it is when the write starts; resolves once it is durable.
   *
   * @returns A promise settled when a write that includes the current state has completed.
   */
  save(): Promise<void> {
    if (this.#next) return this.#next;
    const next = (async () => {
      await this.#inflight?.catch(() => {});
      this.#next = null;
      const write = this.#write(JSON.stringify(this.data, null, 1));
      this.#inflight = write;
      try {
        await write;
      } finally {
        if (this.#inflight === write) this.#inflight = null;
      }
    })();
    this.#next = next;
    return next;
  }

  async #write(text: string): Promise<void> {
    const tmp = `${this.path}.tmp`;
    const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
    try {
      const bytes = new TextEncoder().encode(text);
      let written = 0;
      while (written < bytes.length) written += await file.write(bytes.subarray(written));
      await file.syncData();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, this.path);
    await syncDir(dirname(this.path));
  }
}
