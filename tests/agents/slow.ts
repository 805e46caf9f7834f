/**
 * Test agent that takes `config.delayMs` per batch and records the order it handled batches in (a gauge per
 * batch sequence). With `config.ignoreStop` it keeps working after its signal aborted; with `config.busy` it
 * blocks its thread (a CPU-bound handler cannot even see a stop message).
 *
 * @module
 */
import { z } from "zod";
import type { AgentBatch, AgentContext, AgentSpec } from "../../actors/runtime/mod.ts";

const Config = z.object({
  delayMs: z.number().int().min(0).default(50),
  ignoreStop: z.boolean().default(false),
  busy: z.boolean().default(false),
});
type Config = z.infer<typeof Config>;

/** Slow spec: no permissions. */
export const spec: AgentSpec<Config> = { name: "slow", config: Config, permissions: {} };

/** Waits, honouring the abort signal unless told not to. */
export async function receive(_batch: AgentBatch, ctx: AgentContext<Config>): Promise<void> {
  const { delayMs, ignoreStop, busy } = ctx.config;
  if (busy) {
    const end = performance.now() + delayMs;
    while (performance.now() < end) { /* spin */ }
    return;
  }
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, delayMs);
    if (!ignoreStop) {
      ctx.signal.addEventListener("abort", () => {
        clearTimeout(t);
        reject(new Error("stopped"));
      }, { once: true });
    }
  });
}
