import { getLogger } from "@logtape/logtape";

/** A minimal typed event emitter; listener errors are isolated from the emitter. */
export class Emitter<E> {
  #listeners = new Map<keyof E, Set<(e: never) => void>>();

  /** Adds a listener; returns the function that removes it. */
  on<K extends keyof E>(type: K, listener: (e: E[K]) => void): () => void {
    let set = this.#listeners.get(type);
    if (!set) this.#listeners.set(type, set = new Set());
    set.add(listener as (e: never) => void);
    return () => set.delete(listener as (e: never) => void);
  }

  /** Calls every listener of `type`; a throwing listener is reported and does not stop the others. */
  emit<K extends keyof E>(type: K, event: E[K]): void {
    for (const l of this.#listeners.get(type) ?? []) {
      try {
        (l as (e: E[K]) => void)(event);
      } catch (e) {
        getLogger(["qistream", "supervisor"]).error("event listener threw: {error}", { error: e });
      }
    }
  }
}
