/**
 * The context the runtime hands to an agent's `receive()` and `run()`.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { PublishedRecord } from "../../connector/types.ts";
import type { AgentRecord } from "./agent_record.ts";
import type { ToolClient } from "./tool_client.ts";
import type { AgentMetrics } from "./agent_metrics.ts";

/** Everything an agent may use to act on the world. */
export interface AgentContext<C = unknown> {
  /** This actor's id (e.g. `root/agents/sink-0`). */
  readonly actorId: string;
  /** The validated config. Replaced when a `config` system message arrives. */
  readonly config: C;
  /** The current batch's correlation id, if any. */
  readonly correlationId?: string;
  /**
   * Publishes through the main thread's connector; resolves when the log acknowledged the records.
   *
   * @throws {AgentPublishError} When the main thread reports a failure.
   */
  publish(topic: string, records: AgentRecord[]): Promise<PublishedRecord[]>;
  /** MCP tool calls, restricted to the spec's `tools`. */
  readonly tools: ToolClient;
  /** LogTape logger carrying `actorId` and the batch's `correlationId`. */
  readonly log: Logger;
  /** Counters, gauges and histograms reported into the process registry. */
  readonly metrics: AgentMetrics;
  /** Aborted when the actor is asked to stop. */
  readonly signal: AbortSignal;
  /** A source's position in its upstream; without an offset store on the node, `stored` is absent and commits are dropped. */
  readonly sourceOffset?: SourceOffset;
  /**
   * Reports a long task's progress (a backfill, a replay): records `done` of `total` when known; `finished`
   * on the last report. The tree, the dashboard and the node's log show it with percent, rate and ETA.
   * Reports are sent at most a few times a second (the last one always).
   */
  progress?(task: string, done: number, total?: number, finished?: boolean): void;
}

/**
 * A source agent's checkpoint, as Kafka Connect's source offsets: the position saved after the records it covers
 * were acknowledged, read back when the agent starts again (on this node or another).
 */
export interface SourceOffset {
  /** The last position saved before this incarnation started (any JSON value), or `undefined` on a first start. */
  readonly stored: unknown;
  /**
   * Saves a position; call it only once every record before the position was acknowledged by the log.
   * Saves are applied in call order; one that fails is logged by the node and superseded by the next.
   */
  commit(position: unknown): void;
}
