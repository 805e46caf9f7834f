/**
 * A child spec that runs an agent module as an actor.
 *
 * @module
 */
import type { ChildSpec, RestartType, Shutdown } from "./child_spec.ts";
import { ActorHandle, type ActorHandleOptions } from "./actor_handle.ts";
import { SUPERVISOR_DEFAULTS } from "./supervisor_defaults.ts";

/** Options of {@linkcode actorChild}. */
export interface ActorChildOptions extends Omit<ActorHandleOptions, "path" | "emit" | "toolPort"> {
  id: string;
  /** Default `permanent`. */
  restart?: RestartType;
  /** Default 5000 ms. */
  shutdown?: Shutdown;
  /** Creates the Worker's end of a fresh tool channel for each incarnation (a port can be transferred once). */
  toolPort?: () => MessagePort;
  /** Called with each new incarnation (e.g. so a dispatcher redelivers to it). */
  onStarted?: (handle: ActorHandle) => void;
}

/**
 * Builds the child spec of an actor.
 *
 * @param opts Actor options.
 * @returns A child spec whose `start` starts a new {@linkcode ActorHandle}.
 * @example
 * ```ts
 * const spec = actorChild({ id: "echo-0", module: new URL("./echo.ts", import.meta.url), creditWindow: 4 });
 * ```
 */
export function actorChild(opts: ActorChildOptions): ChildSpec {
  const { id, restart, shutdown, toolPort, onStarted, ...handleOpts } = opts;
  return {
    id,
    restart,
    shutdown: shutdown ?? SUPERVISOR_DEFAULTS.actorShutdownMs,
    start: async (ctx) => {
      const handle = await ActorHandle.start({
        ...handleOpts,
        path: ctx.path,
        emit: ctx.emit,
        toolPort: toolPort?.(),
      });
      onStarted?.(handle);
      return handle;
    },
  };
}
