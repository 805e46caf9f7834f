/**
 * Where a node remembers the member id each of its consumer groups last joined with, so that after a crash
 * (SIGKILL, OOM, lost power) the restarted node can remove its dead predecessor from the group at once instead
 * of waiting for that member's session to time out (see `kafka_cluster_client.ts`). One small JSON file,
 * `{ "<group>": "<member id>" }`, in the node's data directory; a missing or unreadable file is an empty store.
 *
 * @module
 */

/** Last member id per group. */
export interface MemberIdStore {
  get(group: string): string | undefined;
  /** Records `memberId` for `group`; `undefined` forgets it (the member left cleanly). */
  set(group: string, memberId: string | undefined): void;
}

/**
 * A {@link MemberIdStore} in the JSON file at `path`, written through (atomically: a temporary file renamed over
 * it) on every change.
 *
 * @example
 * ```ts
 * const store = fileMemberIdStore("./data/kafka-members.json");
 * store.set("pg", "qistream-2f0c…");
 * store.get("pg"); // "qistream-2f0c…"
 * ```
 */
export function fileMemberIdStore(path: string): MemberIdStore {
  const read = (): Record<string, string> => {
    try {
      const parsed = JSON.parse(Deno.readTextFileSync(path));
      return parsed !== null && typeof parsed === "object" ? parsed : {};
    } catch {
      return {};
    }
  };
  return {
    get: (group) => {
      const id = read()[group];
      return typeof id === "string" ? id : undefined;
    },
    set: (group, memberId) => {
      const all = read();
      if (memberId === undefined) delete all[group];
      else all[group] = memberId;
      const temporary = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
      try {
        Deno.writeTextFileSync(temporary, JSON.stringify(all));
        Deno.renameSync(temporary, path);
      } catch {
        // Best effort: without the file a restart waits for the session timeout, as it would anyway.
        try {
          Deno.removeSync(temporary);
        } catch { /* not written */ }
      }
    },
  };
}
