/**
 * Builds test batches.
 *
 * @module
 */
import type { AgentBatch } from "../../actors/runtime/mod.ts";

/**
 * A batch of records whose values are the given strings (topic `t`, partition 0, consecutive offsets).
 *
 * @param id Batch id.
 * @param values Record values.
 * @returns The batch.
 */
export function makeBatch(id: string, values: string[] = ["x"]): AgentBatch {
  return {
    id,
    correlationId: `corr-${id}`,
    records: values.map((v, i) => ({
      topic: "t",
      partition: 0,
      offset: String(i),
      key: new TextEncoder().encode(`k${i}`),
      value: new TextEncoder().encode(v),
      headers: {},
      timestamp: 0,
    })),
  };
}
