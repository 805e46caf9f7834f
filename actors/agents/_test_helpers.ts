/**
 * Helpers for the source agents' tests: a `publish` function that records what it gets, a poller, and a
 * reader of the process metrics registry (where a Worker's `ctx.metrics` land).
 *
 * @module
 */
import type { AgentPermissions } from "../runtime/agent_spec.ts";
import type { AgentRecord } from "../runtime/agent_record.ts";
import type { PublishedRecord } from "../../connector/types.ts";
import { metricsText } from "../../core/metrics.ts";
import { waitFor as sharedWaitFor } from "../../tests/wait_for.ts";

/** What a recording publish function collected. */
export interface Recorder {
  /** Every publish call, in order. */
  readonly calls: { topic: string; records: AgentRecord[] }[];
  /** The records published to `topic`, in order. */
  records(topic: string): AgentRecord[];
  /** The publish function to hand to `ActorHandle.start`. */
  publish(topic: string, records: AgentRecord[]): Promise<PublishedRecord[]>;
}

/**
 * A publish function that records every call and acknowledges at once.
 *
 * @returns the recorder
 */
export function recorder(): Recorder {
  const calls: { topic: string; records: AgentRecord[] }[] = [];
  return {
    calls,
    records: (topic) => calls.filter((g) => g.topic === topic).flatMap((g) => g.records),
    publish: (topic, records) => {
      calls.push({ topic, records });
      return Promise.resolve(records.map((_, i) => ({ topic, partition: 0, offset: String(i) })));
    },
  };
}

/**
 * Polls `predicate` every 10 ms.
 *
 * @throws {Error} when it does not hold within `timeoutMs`
 */
export function waitFor(predicate: () => boolean | Promise<boolean>, timeoutMs = 3000): Promise<void> {
  return sharedWaitFor(predicate, "the condition", { timeoutMs });
}

/**
 * The value of the first sample of `name` whose labels include all of `labels`, in the process registry.
 *
 * @returns the value, or undefined when there is no such sample
 */
export async function metric(name: string, labels: Record<string, string>): Promise<number | undefined> {
  for (const line of (await metricsText()).split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) {
      return Number(line.split(" ").at(-1));
    }
  }
  return undefined;
}

/**
 * An agent module with its spec's permissions replaced by `permissions` (a `data:` module re-exporting the
 * agent): to show that its Worker cannot reach beyond what it is granted, whatever its config says.
 *
 * @param module The agent module.
 * @param permissions What the Worker gets instead of the spec's permissions.
 * @returns The URL of the wrapping module, for `ActorHandle.start({ module })`.
 */
export function withPermissions(module: URL, permissions: AgentPermissions): string {
  const from = JSON.stringify(module.href);
  const source = `import * as m from ${from};\nexport * from ${from};\n` +
    `export const spec = { ...m.spec, permissions: ${JSON.stringify(permissions)} };\n`;
  return `data:application/javascript,${encodeURIComponent(source)}`;
}
