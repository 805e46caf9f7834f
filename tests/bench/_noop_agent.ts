/**
 * Benchmark agent: acks every batch at once, so a benchmark measures the actor path, not the agent.
 *
 * @module
 */
import type { AgentBatch, AgentSpec } from "../../actors/runtime/mod.ts";

/** No-op spec: no permissions. */
export const spec: AgentSpec = { name: "noop", permissions: {} };

/** Does nothing; the runtime acks when it returns. */
export function receive(_batch: AgentBatch): void {}
