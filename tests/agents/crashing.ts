/**
 * Test agent that fails on demand. A record whose value (UTF-8) is:
 * - `throw`: the handler throws (the batch fails);
 * - `uncaught`: an error is thrown from a timer (an uncaught error in the Worker);
 * - `reject`: a promise is rejected with no handler (an unhandled rejection);
 * anything else is acked. A config of `{ failOnStart: true }` fails validation, so the actor cannot start.
 *
 * @module
 */
import { z } from "zod";
import type { AgentBatch, AgentContext, AgentSpec } from "../../actors/runtime/mod.ts";

const Config = z.object({ failOnStart: z.literal(false).default(false) });

/** Crashing spec: no permissions. */
export const spec: AgentSpec<z.infer<typeof Config>> = { name: "crashing", config: Config, permissions: {} };

/** Fails per the records' values. */
export async function receive(batch: AgentBatch, _ctx: AgentContext): Promise<void> {
  for (const r of batch.records) {
    const v = new TextDecoder().decode((r.value as Uint8Array | null) ?? new Uint8Array());
    if (v === "throw") throw new RangeError(`bad record ${r.offset}`);
    if (v === "uncaught") {
      setTimeout(() => {
        throw new Error("boom from a timer");
      }, 0);
      await new Promise(() => {}); // never acks: the crash ends this incarnation
    }
    if (v === "reject") {
      void Promise.reject(new Error("nobody handles me"));
      await new Promise(() => {});
    }
  }
}
