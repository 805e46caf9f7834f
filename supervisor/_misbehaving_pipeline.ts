// A dispatcher over instances of tests/agents/misbehaving_sink.ts, for the hung-actor and crash-blame tests.
import type { ActorChildOptions } from "./actor_child.ts";
import { Dispatcher, type DispatcherOptions } from "./dispatcher.ts";
import { Supervisor } from "./supervisor.ts";
import { EmbeddedConnector } from "../connector/embedded/mod.ts";

export const MISBEHAVING_SINK = new URL("../tests/agents/misbehaving_sink.ts", import.meta.url);

/** A started dispatcher and its supervised actors; `join()` subscribes (so a test can time the rebalance). */
export interface MisbehavingPipeline {
  dispatcher: Dispatcher;
  root: Supervisor;
  join(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the actors; the dispatcher joins its group at once unless `join: false`. */
export async function misbehavingPipeline(
  options: Omit<DispatcherOptions, "instances"> & {
    instances?: number;
    out: string;
    oomFlag?: string;
    oomMode?: "crash" | "fail";
    join?: boolean;
    actor?: Pick<ActorChildOptions, "batchDeadlineMs" | "heartbeat" | "creditWindow" | "grants">;
  },
): Promise<MisbehavingPipeline> {
  const { out, oomFlag, oomMode, instances = 1, actor = {}, join = true, ...rest } = options;
  const ids = Array.from({ length: instances }, (_, i) => `${options.agent}-${i}`);
  const dispatcher = new Dispatcher({ ...rest, instances: ids });
  const root = await Supervisor.start({
    id: options.agent,
    intensity: 100,
    periodMs: 5000,
    backoff: { minMs: 1, maxMs: 20 },
    children: dispatcher.children({ module: MISBEHAVING_SINK, config: { out, oomFlag, oomMode }, ...actor }),
  });
  if (join) await dispatcher.start();
  return {
    dispatcher,
    root,
    join: () => dispatcher.start(),
    async stop() {
      await dispatcher.close(2000);
      await root.stop();
    },
  };
}

/** A fresh embedded log in a temporary directory, removed on dispose. */
export async function embeddedLog(): Promise<
  { connector: EmbeddedConnector; dataDir: string; [Symbol.asyncDispose](): Promise<void> }
> {
  const dataDir = await Deno.makeTempDir({ prefix: "qistream-misbehave-" });
  const connector = new EmbeddedConnector({ dataDir, fsync: false, maxBatchRecords: 50, retryBackoffMs: 20 });
  await connector.connect();
  return {
    connector,
    dataDir,
    async [Symbol.asyncDispose]() {
      await connector.close();
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}

/** Restarts of the first child of `root` so far. */
export function restartsOf(root: Supervisor): number {
  const node = root.snapshot().children[0];
  return node && "restarts" in node ? node.restarts : 0;
}
