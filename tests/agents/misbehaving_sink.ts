/**
 * Test sink that misbehaves on cue, for the hung-actor and crash-blame tests; otherwise it is the dispatch sink
 * (republishes each record to `config.out`). By record value:
 * - `hang`: the handler never settles;
 * - `close`: the Worker ends itself (`self.close()`) in the middle of the batch;
 * - `close-after`: the batch is acked, then the Worker ends itself while idle;
 * - `slowcrash:<ms>`: waits `<ms>`, then crashes the Worker with an uncaught error;
 * - `slow:<ms>`: waits `<ms>` and goes on, but fails the batch with an `AbortError` if `ctx.signal` aborts first;
 * - `busy:<ms>`: works for `<ms>`, showing progress (an empty publish every 100 ms), then goes on;
 * - `stopcrash:<ms>`: waits `<ms>` and goes on, but crashes the Worker (uncaught) if `ctx.signal` aborts first.
 *
 * While the file `config.oomFlag` exists, every batch meets a real allocation failure (a 4 TiB buffer:
 * `RangeError: Array buffer allocation failed`), whatever its records — an environment fault. With
 * `oomMode: "crash"` (default) it is uncaught and crashes the Worker; with `"fail"` the handler throws it.
 *
 * @module
 */
import { z } from "zod";
import type { AgentBatch, AgentContext, AgentSpec } from "../../actors/runtime/mod.ts";
import { receive as republish } from "./dispatch_sink.ts";
import { abortableSleep } from "../../core/abortable_sleep.ts";

const Config = z.object({
  out: z.string(),
  delayMs: z.number().int().min(0).default(0),
  oomFlag: z.string().optional(),
  oomMode: z.enum(["crash", "fail"]).default("crash"),
});
type Config = z.infer<typeof Config>;

/** Sink spec: no permissions of its own (a test grants `read` of the flag file). */
export const spec: AgentSpec<Config> = { name: "misbehaving-sink", config: Config, permissions: {} };

const never = () => new Promise<never>(() => {});
const closeSelf = () => (globalThis as unknown as { close(): void }).close();

/** Misbehaves as the module doc says, else republishes the batch. */
export async function receive(batch: AgentBatch, ctx: AgentContext<Config>): Promise<void> {
  if (ctx.config.oomFlag && exists(ctx.config.oomFlag)) {
    if (ctx.config.oomMode === "fail") new Uint8Array(2 ** 42);
    setTimeout(() => new Uint8Array(2 ** 42), 0);
    return await never();
  }
  let closeAfter = false;
  for (const r of batch.records) {
    const v = r.value instanceof Uint8Array ? new TextDecoder().decode(r.value) : "";
    if (v === "hang") return await never();
    if (v === "close") {
      closeSelf();
      return await never();
    }
    if (v === "close-after") closeAfter = true;
    const busy = /^busy:(\d+)$/.exec(v);
    if (busy) {
      for (const until = Date.now() + Number(busy[1]); Date.now() < until;) {
        await ctx.publish(ctx.config.out, []);
        await abortableSleep(100, ctx.signal);
      }
    }
    const stopcrash = /^stopcrash:(\d+)$/.exec(v);
    if (stopcrash) {
      await abortableSleep(Number(stopcrash[1]), ctx.signal).catch(() => {
        setTimeout(() => {
          throw new Error(`crashed while stopping at offset ${r.offset}`);
        }, 0);
        return never();
      });
    }
    const abortable = /^slow:(\d+)$/.exec(v);
    if (abortable) await abortableSleep(Number(abortable[1]), ctx.signal);
    const slow = /^slowcrash:(\d+)$/.exec(v);
    if (slow) {
      await new Promise((r) => setTimeout(r, Number(slow[1])));
      setTimeout(() => {
        throw new Error(`slow crash record at offset ${r.offset}`);
      }, 0);
      return await never();
    }
  }
  await republish(batch, ctx as unknown as Parameters<typeof republish>[1]);
  if (closeAfter) setTimeout(closeSelf, 50);
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
