/**
 * The `supervision` tool set: `supervision.tree`, `supervision.restart` and `supervision.cluster`.
 *
 * @module
 */
import { z } from "zod";
import { type AnyToolDefinition, defineTool } from "./tool_definition.ts";

/**
 * What the supervision tools need from the supervision tree. The main program adapts its root `Supervisor`
 * (`snapshot()` for `tree`, and a restart of one actor by id or path).
 */
export interface SupervisionControl {
  /** The live tree as JSON (the root supervisor's `snapshot()`). */
  tree(): unknown;
  /**
   * Restarts one actor; resolves when its new incarnation runs.
   *
   * @throws {RangeError} When no actor has this id.
   */
  restart(actor: string): Promise<void>;
  /** The node registry's view of the cluster (nodes, what runs where, lost nodes); absent: no registry. */
  cluster?(): unknown;
}

/**
 * Builds the supervision tool definitions.
 *
 * @param deps The supervision control.
 * @returns The three tools.
 */
export function supervisionTools(deps: { supervision: SupervisionControl }): AnyToolDefinition[] {
  return [
    defineTool({
      name: "supervision.cluster",
      role: "reader",
      title: "Cluster nodes",
      description: "Returns the nodes of this pipeline from the node registry: per node its id, address, " +
        "version, status (live, lost = stopped heartbeating, stopped = left cleanly), the agents it runs with " +
        "their state (running, standby) and partitions, and which node runs each singleton source. Returns {cluster}.",
      inputSchema: z.object({}),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      handler: () => Promise.resolve({ cluster: deps.supervision.cluster?.() ?? null }),
    }),
    defineTool({
      name: "supervision.tree",
      role: "reader",
      title: "Supervision tree",
      description: "Returns the live supervision tree as JSON: supervisors and actors with their state " +
        "(running, restarting, stopped), restart counts and last errors. Returns {tree}.",
      inputSchema: z.object({}),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      handler: () => Promise.resolve({ tree: deps.supervision.tree() }),
    }),
    defineTool({
      name: "supervision.restart",
      role: "admin",
      title: "Restart an actor",
      description:
        "Restarts one actor (its Worker is stopped and started again by its supervisor; batches it had " +
        "not acknowledged are redelivered to the new incarnation, so no data is lost). Use it for a stuck " +
        "actor. Returns {restarted}.",
      inputSchema: z.object({
        actor: z.string().min(1).describe("Actor id or path as shown by supervision.tree"),
      }),
      annotations: {
        readOnlyHint: false,
        destructiveHint: true,
        idempotentHint: false,
        openWorldHint: false,
      },
      handler: async ({ actor }) => {
        await deps.supervision.restart(actor);
        return { restarted: actor };
      },
    }),
  ];
}
