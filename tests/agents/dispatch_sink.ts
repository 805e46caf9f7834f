/**
 * Test sink for the dispatcher: republishes every record it handles (same key, value and headers, plus the
 * actor id) to `config.out`, so a test can count what reached the sink end to end. A value the dispatcher
 * decoded (a plain value, not bytes) is republished as its JSON. A record whose value is `poison` fails its
 * batch (a `RangeError`); one whose value is `crash` crashes the Worker (an uncaught error). `config.delayMs`
 * makes each batch slow.
 *
 * @module
 */
import { z } from "zod";
import type { AgentBatch, AgentContext, AgentSpec } from "../../actors/runtime/mod.ts";

const Config = z.object({ out: z.string(), delayMs: z.number().int().min(0).default(0) });
type Config = z.infer<typeof Config>;

/** Sink spec: no permissions. */
export const spec: AgentSpec<Config> = { name: "dispatch-sink", config: Config, permissions: {} };

/** Republishes the batch to `config.out` after `config.delayMs`; fails on `poison`, crashes on `crash`. */
export async function receive(batch: AgentBatch, ctx: AgentContext<Config>): Promise<void> {
  const values = batch.records.map((r) => asBytes(r.value));
  for (const [i, r] of batch.records.entries()) {
    const v = new TextDecoder().decode(values[i]!);
    if (v === "poison") throw new RangeError(`poison record at offset ${r.offset}`);
    if (v === "crash") {
      setTimeout(() => {
        throw new Error(`crash record at offset ${r.offset}`);
      }, 0);
      await new Promise(() => {});
    }
  }
  if (ctx.config.delayMs > 0) await new Promise((r) => setTimeout(r, ctx.config.delayMs));
  await ctx.publish(
    ctx.config.out,
    batch.records.map((r, i) => ({
      key: r.key,
      value: values[i]!,
      headers: { ...r.headers, actor: ctx.actorId },
    })),
  );
}

/** Bytes as they are; a value decoded on the main thread (a plain value) as its JSON. */
function asBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  return new TextEncoder().encode(value === null || value === undefined ? "" : JSON.stringify(value));
}
