/**
 * Source positions in one JSON file of the data directory (`source-offsets.json`), replaced atomically (write a
 * temporary file, fsync, rename) — the embedded log's offset storage, as it has no compacted topics.
 *
 * @module
 */
import { join } from "node:path";
import { JsonFileStore } from "../embedded/json_file_store.ts";
import type { SourceOffsetStore, SourcePosition } from "./source_offset_store.ts";

/** The file name under the data directory. */
export const SOURCE_OFFSETS_FILE = "source-offsets.json";

/** Positions kept in `<dataDir>/source-offsets.json`. */
export class FileOffsetStore implements SourceOffsetStore {
  readonly where: string;
  readonly #dataDir: string;
  #store: Promise<JsonFileStore<Record<string, SourcePosition>>> | undefined;

  /** @param dataDir the node's data directory (created when missing) */
  constructor(dataDir: string) {
    this.#dataDir = dataDir;
    this.where = `file ${join(dataDir, SOURCE_OFFSETS_FILE)}`;
  }

  async load(agent: string): Promise<SourcePosition | undefined> {
    return (await this.#open()).data[agent];
  }

  async save(agent: string, position: SourcePosition): Promise<void> {
    const store = await this.#open();
    store.data[agent] = position;
    await store.save();
  }

  async reset(agent: string): Promise<void> {
    const store = await this.#open();
    delete store.data[agent];
    await store.save();
  }

  #open(): Promise<JsonFileStore<Record<string, SourcePosition>>> {
    return this.#store ??= (async () => {
      await Deno.mkdir(this.#dataDir, { recursive: true });
      return JsonFileStore.open<Record<string, SourcePosition>>(join(this.#dataDir, SOURCE_OFFSETS_FILE), {});
    })();
  }
}
