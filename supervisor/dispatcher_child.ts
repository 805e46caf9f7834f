/**
 * A dispatcher as a child of a supervisor, so the tree's ordered start and reverse-ordered stop cover it: put it
 * after the supervisor of its actors and before the sources. On stop, sources stop first, then the dispatcher
 * drains what is in flight, commits the acked prefix and leaves the group, and only then do its actors stop.
 *
 * @module
 */
import type { ChildSpec, ExitReason } from "./child_spec.ts";
import type { Dispatcher } from "./dispatcher.ts";
import { SUPERVISOR_DEFAULTS } from "./supervisor_defaults.ts";
import type { DispatcherNode } from "./tree_node.ts";

/**
 * The child spec of a dispatcher. It starts by subscribing; its shutdown timeout is the time allowed to drain
 * in-flight batches before committing. It is `temporary`: a closed dispatcher is not reopened. If the dispatcher
 * fails (its dead-letter path is broken, see `DeadLetterFailedError`), the child exits as crashed with reason
 * `dead_letter_failed`.
 *
 * @example
 * ```ts
 * const children = [supervisorChild({ id: "sink-actors", children: actorSpecs }), dispatcherChild("sink", d)];
 * ```
 */
export function dispatcherChild(id: string, dispatcher: Dispatcher): ChildSpec {
  return {
    id,
    restart: "temporary",
    shutdown: SUPERVISOR_DEFAULTS.actorShutdownMs,
    start: async (ctx) => {
      await dispatcher.start();
      let state: DispatcherNode["state"] = "running";
      let exit!: (reason: ExitReason) => void;
      const exited = new Promise<ExitReason>((resolve) => (exit = resolve));
      // A broken dead-letter path stops the dispatcher: its supervisor sees a crash with the typed error.
      let failedAt: string | undefined;
      const offFailed = dispatcher.onFailed((error) => {
        state = "failed";
        failedAt = new Date().toISOString();
        exit({ kind: "crashed", reason: "dead_letter_failed", error });
      });
      return {
        exited,
        async stop(shutdown) {
          offFailed();
          if (state === "failed") return;
          state = "stopping";
          const drainMs = typeof shutdown === "number" ? shutdown : shutdown === "brutal_kill" ? 0 : 60_000;
          await dispatcher.close(drainMs);
          state = "stopped";
          exit({ kind: "shutdown" });
        },
        snapshot: (): DispatcherNode => ({
          ...dispatcher.snapshot(),
          id,
          path: ctx.path,
          state,
          restarts: 0,
          ...(failedAt && dispatcher.failure
            ? {
              lastError: {
                reason: "dead_letter_failed",
                name: dispatcher.failure.name,
                message: dispatcher.failure.message,
                at: failedAt,
              },
            }
            : {}),
        }),
      };
    },
  };
}
