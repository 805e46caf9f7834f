/**
 * Test agent that tries to read a file named by each record (it declares no permissions at all).
 *
 * @module
 */
import type { AgentBatch, AgentSpec } from "../../actors/runtime/mod.ts";

/** Reader spec: nothing granted. */
export const spec: AgentSpec = { name: "reader" };

/** Reads each record's path; Deno refuses. */
export async function receive(batch: AgentBatch): Promise<void> {
  for (const r of batch.records) {
    await Deno.readTextFile(new TextDecoder().decode((r.value as Uint8Array | null) ?? new Uint8Array()));
  }
}
