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
 * in-flight batches before committing. It is `transient`: restarted after a crash, not after a stop.
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
      void dispatcher.crashed().then((error) => {
        if (state !== "running") return;
        state = "stopped";
        exit({ kind: "crashed", reason: "consumer_crashed", error });
      });
      return {
        exited,
        async stop(shutdown) {
          if (state === "stopped") return;
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
        }),
      };
    },
  };
}
