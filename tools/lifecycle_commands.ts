/**
 * The lifecycle commands — pause, resume, stop, start and restart an agent, restart one actor — declared once
 * each and served twice from that one declaration: as MCP tools (`lifecycle.pause`, …) and as `/api` endpoints
 * (`POST /api/agents/{agent}/pause`, …). Kafka Connect's REST API is the model: pause keeps the consumer-group
 * membership and stops fetching; every command is idempotent and answers with the resulting state; the node
 * keeps the desired state (paused, stopped) across restarts and audits each transition with who asked.
 *
 * @module
 */
import { z } from "zod";
import type { ApiEndpoint } from "./api_http_handler.ts";
import { type AnyToolDefinition, defineTool, type ToolHints } from "./tool_definition.ts";

/** What an operator asked an agent to be. */
export type DesiredState = "running" | "paused" | "stopped";

/** One agent's lifecycle state: what was asked, what is. */
export interface AgentLifecycle {
  agent: string;
  role: "source" | "consumer";
  /** What an operator asked for (`running` unless paused or stopped), kept across node restarts. */
  desired: DesiredState;
  /** What the tree shows: the agent supervisor's state, or `paused` / `stopped`. */
  state: string;
  /** Who asked for the desired state and when (absent when nobody asked). */
  by?: string;
  at?: string;
  /** The agent's actor ids. */
  instances: string[];
}

/** What the lifecycle commands need from the running node (the pipeline implements it). */
export interface LifecycleControl {
  /** Every agent's state. */
  agents(): AgentLifecycle[];
  /** @throws {RangeError} for an unknown agent, or `pause` of a source (it has no consumer group to pause). */
  pause(agent: string, by: string): Promise<AgentLifecycle>;
  resume(agent: string, by: string): Promise<AgentLifecycle>;
  stop(agent: string, by: string): Promise<AgentLifecycle>;
  start(agent: string, by: string): Promise<AgentLifecycle>;
  /** Stops the agent (every instance and its consumer) and starts it again. */
  restart(agent: string, by: string): Promise<AgentLifecycle>;
  /** Restarts one actor (its Worker); unacknowledged batches go to the new incarnation. */
  restartActor(actor: string, by: string): Promise<AgentLifecycle>;
}

/** One lifecycle command: its name, what it acts on, its MCP description and hints, and what it does. */
export interface LifecycleCommand {
  /** The tool is `lifecycle.<name>`; the endpoint ends in `/<verb>`. */
  name: string;
  /** `agent`: `POST /api/agents/{agent}/<verb>`; `actor`: `POST /api/actors/{actor}/<verb>`. */
  target: "agent" | "actor";
  verb: string;
  title: string;
  description: string;
  annotations: ToolHints;
  run(control: LifecycleControl, id: string, by: string): Promise<AgentLifecycle>;
}

const hints = (destructive: boolean, idempotent: boolean): ToolHints => ({
  readOnlyHint: false,
  destructiveHint: destructive,
  idempotentHint: idempotent,
  openWorldHint: false,
});

/** The commands, in the order docs list them. */
export const LIFECYCLE_COMMANDS: readonly LifecycleCommand[] = [
  {
    name: "pause",
    target: "agent",
    verb: "pause",
    title: "Pause a consuming agent",
    description: "Stops fetching for a consuming agent while it keeps its consumer-group membership (no " +
      "rebalance); batches already fetched finish and are committed, lag grows until resume. Kept across node " +
      "restarts. Idempotent. Returns the agent's lifecycle state.",
    annotations: hints(false, true),
    run: (c, id, by) => c.pause(id, by),
  },
  {
    name: "resume",
    target: "agent",
    verb: "resume",
    title: "Resume a paused agent",
    description: "Resumes fetching for a paused consuming agent; it catches up from its committed offsets. " +
      "Idempotent. Returns the agent's lifecycle state.",
    annotations: hints(false, true),
    run: (c, id, by) => c.resume(id, by),
  },
  {
    name: "stop",
    target: "agent",
    verb: "stop",
    title: "Stop an agent",
    description:
      "Stops every instance of an agent (a consumer drains, commits and leaves its group, so its " +
      "partitions go to other nodes of the group). Kept across node restarts until start. Idempotent. Returns " +
      "the agent's lifecycle state.",
    annotations: hints(true, true),
    run: (c, id, by) => c.stop(id, by),
  },
  {
    name: "start",
    target: "agent",
    verb: "start",
    title: "Start a stopped agent",
    description: "Starts an agent that was stopped (a consumer joins its group again and resumes at its " +
      "committed offsets). Idempotent. Returns the agent's lifecycle state.",
    annotations: hints(false, true),
    run: (c, id, by) => c.start(id, by),
  },
  {
    name: "restart",
    target: "agent",
    verb: "restart",
    title: "Restart an agent",
    description:
      "Stops an agent with all its instances and starts it again (a consumer leaves and rejoins its " +
      "group). A paused agent stays paused. Returns the agent's lifecycle state.",
    annotations: hints(true, false),
    run: (c, id, by) => c.restart(id, by),
  },
  {
    name: "restart_actor",
    target: "actor",
    verb: "restart",
    title: "Restart one actor",
    description: "Restarts one actor's Worker; batches it had not acknowledged are redelivered to the new " +
      "incarnation, so nothing is lost. Use it for a stuck actor. Returns its agent's lifecycle state.",
    annotations: hints(true, false),
    run: (c, id, by) => c.restartActor(id, by),
  },
];

/** The permission (tool name) of a command, for `/api` and `/mcp` alike. */
export const commandTool = (command: LifecycleCommand): string => `lifecycle.${command.name}`;

/** The read-only `lifecycle.agents` tool name (`GET /api/agents`). */
export const LIFECYCLE_AGENTS = "lifecycle.agents";

/**
 * The lifecycle commands as MCP tools, plus `lifecycle.agents`.
 *
 * @param control The node's lifecycle control.
 * @returns One tool per command.
 */
export function lifecycleTools(control: LifecycleControl): AnyToolDefinition[] {
  return [
    defineTool({
      name: LIFECYCLE_AGENTS,
      title: "Agents' lifecycle states",
      description:
        "Lists every agent with its desired state (running, paused, stopped: who asked and when) " +
        "and its state in the tree. Returns {agents}.",
      inputSchema: z.object({}),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      role: "reader",
      handler: () => Promise.resolve({ agents: control.agents() }),
    }),
    ...LIFECYCLE_COMMANDS.map((command) =>
      defineTool({
        name: commandTool(command),
        title: command.title,
        description: command.description,
        inputSchema: z.object({
          [command.target]: z.string().min(1).describe(
            command.target === "agent"
              ? "Agent id, as in the pipeline file"
              : "Actor id, e.g. postgres-sink-0",
          ),
        }),
        annotations: command.annotations,
        handler: async (args: Record<string, string>, ctx) => ({
          agent: await command.run(control, args[command.target]!, ctx.caller),
        }),
      })
    ),
  ];
}

/**
 * The lifecycle commands as `/api` endpoints, plus `GET /api/agents`. A command answers 200 with
 * `{agent: AgentLifecycle}`; an unknown agent or actor, or a command that does not apply, 404/409 with `{error}`.
 *
 * @param control The node's lifecycle control.
 * @returns The endpoints.
 */
export function lifecycleEndpoints(control: LifecycleControl): ApiEndpoint[] {
  return [
    {
      path: "/api/agents",
      permission: LIFECYCLE_AGENTS,
      handle: () => Response.json({ agents: control.agents() }),
    },
    ...LIFECYCLE_COMMANDS.map((command): ApiEndpoint => ({
      path: `/api/${command.target}s/{${command.target}}/${command.verb}`,
      method: "POST",
      permission: commandTool(command),
      handle: async (_request, ctx) => {
        try {
          const id = ctx.params[command.target]!;
          return Response.json({ agent: await command.run(control, id, ctx.caller) });
        } catch (error) {
          if (error instanceof RangeError) {
            const status = /^No /.test(error.message) ? 404 : 409;
            return Response.json({ error: error.message }, { status });
          }
          throw error;
        }
      },
    })),
  ];
}
