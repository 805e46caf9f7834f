/**
 * The actor metric families, registered once in the process registry (core/metrics.ts), and the bridge that
 * records metrics reported by Workers.
 *
 * @module
 */
import { counter, gauge, histogram } from "../core/metrics.ts";
import type { MetricSample } from "../actors/runtime/actor_protocol.ts";

/** `actor_restarts_total{actor}`. */
export const actorRestarts = () =>
  counter({ name: "actor_restarts_total", help: "Restarts of a supervised child", labelNames: ["actor"] });

/** `actor_mailbox_depth{actor}`: batches waiting for credit in the handle. */
export const actorMailboxDepth = () =>
  gauge({ name: "actor_mailbox_depth", help: "Batches waiting for credit", labelNames: ["actor"] });

/** `actor_inflight_batches{actor}`: batches posted to the Worker, not yet acked or failed. */
export const actorInflight = () =>
  gauge({
    name: "actor_inflight_batches",
    help: "Unacked batches posted to the actor",
    labelNames: ["actor"],
  });

/** `actor_batch_duration_seconds{actor,agent}`: handler time per batch, measured in the Worker. */
export const actorBatchDuration = () =>
  histogram({
    name: "actor_batch_duration_seconds",
    help: "Time the agent's receive() took per batch",
    labelNames: ["actor", "agent"],
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
  });

/** `actor_failures_total{actor,reason}`: failed batches and crashes. */
export const actorFailures = () =>
  counter({
    name: "actor_failures_total",
    help: "Failed batches and actor crashes by reason",
    labelNames: ["actor", "reason"],
  });

/**
 * Records samples reported by an agent into the registry, adding `agent` and `actor` labels.
 *
 * @param samples What the Worker reported.
 * @param base The `agent` and `actor` labels.
 * @returns Errors for samples that clash with an existing metric (other type or labels); they are skipped.
 */
export function recordAgentMetrics(
  samples: readonly MetricSample[],
  base: { agent: string; actor: string },
): Error[] {
  const errors: Error[] = [];
  for (const s of samples) {
    const labels = { ...s.labels, ...base };
    const labelNames = Object.keys(labels).sort();
    const help = s.help ?? `Reported by agent ${base.agent}`;
    try {
      if (s.kind === "counter") counter({ name: s.name, help, labelNames }).inc(labels, s.value);
      else if (s.kind === "gauge") gauge({ name: s.name, help, labelNames }).set(labels, s.value);
      else histogram({ name: s.name, help, labelNames }).observe(labels, s.value);
    } catch (e) {
      errors.push(e instanceof Error ? e : new Error(String(e)));
    }
  }
  return errors;
}
