/**
 * A dispatcher as a child of a supervisor, so the tree's ordered start and reverse-ordered stop cover it: put it
 * after its actors, in the agent's supervisor. On stop, sources stop first, then the dispatcher drains what is in
 * flight, commits the acked prefix and leaves the group, and only then do its actors stop.
 *
 * The child is the consumer-group membership: when it crashes (its client gave up), the child exits `crashed`
 * with reason `consumer_crashed`, and the supervisor restarts it with backoff within its restart intensity —
 * a restart subscribes again and delivery resumes at the committed offsets. Past the intensity the supervisor
 * gives up and escalates, as for actors.
 *
 * @module
 */
import type { ChildSpec, ExitReason } from "./child_spec.ts";
import type { Dispatcher } from "./dispatcher.ts";
import { SUPERVISOR_DEFAULTS } from "./supervisor_defaults.ts";
import type { DispatcherNode } from "./tree_node.ts";

/**
 * The child spec of a dispatcher. It starts by subscribing; its shutdown timeout is the time allowed to drain
 * in-flight batches before committing. It is `transient`: restarted after a crash, not after a stop. It exits
 * crashed with reason `consumer_crashed` when the membership crashes, and with reason `dead_letter_failed` when
 * the dispatcher fails (its dead-letter path is broken, see `DeadLetterFailedError`); a restart subscribes again
 * from the committed offsets, so a path that stays broken fails again and escalates past the intensity.
 *
 * @example
 * ```ts
 * const agent = supervisorChild({ id: "sink", children: [...actorSpecs, dispatcherChild("sink.dispatcher", d)] });
 * ```
 */
export function dispatcherChild(id: string, dispatcher: Dispatcher): ChildSpec {
  return {
    id,
    restart: "transient",
    shutdown: SUPERVISOR_DEFAULTS.actorShutdownMs,
    start: async (ctx) => {
      await dispatcher.start();
      let state: DispatcherNode["state"] = "running";
      let exit!: (reason: ExitReason) => void;
      const exited = new Promise<ExitReason>((resolve) => (exit = resolve));
      let failedAt: string | undefined;
      void dispatcher.crashed().then((error) => {
        if (state !== "running") return;
        state = "stopped";
        exit({ kind: "crashed", reason: "consumer_crashed", error });
      });
      // A broken dead-letter path stops the dispatcher: its supervisor sees a crash with the typed error.
      const offFailed = dispatcher.onFailed((error) => {
        if (state !== "running") return;
        state = "failed";
        failedAt = new Date().toISOString();
        // The dispatcher closes itself (commits what was acked, leaves the group) before the child exits.
        void dispatcher.close().finally(() => exit({ kind: "crashed", reason: "dead_letter_failed", error }));
      });
      return {
        exited,
        async stop(shutdown) {
          offFailed();
          if (state === "stopped" || state === "failed") return;
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
