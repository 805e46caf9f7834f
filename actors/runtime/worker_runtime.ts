/**
 * The in-Worker runtime: runs one agent module inside a Deno Worker.
 *
 * Two queues: system messages (`stop`, `ping`, `config`) and user batches. User batches run one at a time, in
 * arrival order (per-key order holds); system messages are handled as soon as they arrive, even during a batch.
 *
 * Overtaking: a user batch never starts while a system message is waiting — including one the main thread has
 * posted but the Worker's event loop has not dispatched yet (postMessage delivery is one event per turn, so a
 * finished batch could otherwise start the next one first). The handle counts the system messages it posted in a
 * shared `Int32Array` before posting each; the runtime starts a batch only when it has received as many.
 *
 * Failures: a handler that throws or rejects fails its batch (the actor keeps running). An uncaught error, an
 * unhandled rejection or a `run()` that rejects is a crash, reported as a `crash` message; the main thread then
 * terminates the Worker and the supervisor decides what happens next.
 *
 * @module
 */
import { configureSync, getLogger, type LogRecord } from "@logtape/logtape";
import type { AgentBatch } from "./agent_batch.ts";
import type { AgentContext } from "./agent_context.ts";
import type { AgentModule } from "./agent_spec.ts";
import { assertAgentModule } from "./agent_spec.ts";
import { MetricBuffer } from "./agent_metrics.ts";
import { createToolClient, type ToolClient } from "./tool_client.ts";
import { AgentPublishError } from "./agent_publish_error.ts";
import { type FromWorker, serializeError, type SystemMessage, type ToWorker } from "./actor_protocol.ts";
import type { PublishedRecord } from "../../connector/types.ts";

/** The part of a Worker's global scope the runtime uses (injectable for tests). */
export interface WorkerScope {
  postMessage(message: FromWorker): void;
  addEventListener(type: string, listener: (e: Event) => void): void;
  close(): void;
}

const METRICS_FLUSH_MS = 1000;
/** Progress of a running batch is reported at most this often. */
const PROGRESS_EVERY_MS = 1000;
/** At most this often per task, a `ctx.progress` report is sent (the finishing one always). */
const TASK_PROGRESS_EVERY_MS = 250;

/**
 * Serves an agent module inside the current Worker. Called by the bootstrap the actor handle generates; agent
 * modules never call it themselves.
 *
 * @param moduleNamespace The agent module's namespace object.
 * @param scope The Worker global scope (defaults to `self`).
 */
export function serveAgent(
  moduleNamespace: Record<string, unknown>,
  scope: WorkerScope = globalThis as unknown as WorkerScope,
): void {
  const agent: AgentModule = assertAgentModule(moduleNamespace);
  const spec = agent.spec;
  const post = (m: FromWorker) => scope.postMessage(m);
  const system: SystemMessage[] = [];
  const user: AgentBatch[] = [];
  const abort = new AbortController();
  const metrics = new MetricBuffer();
  const pendingPublish = new Map<
    number,
    { topic: string; resolve(r: PublishedRecord[]): void; reject(e: Error): void }
  >();
  let nextPublish = 0;
  let actorId = "";
  let config: unknown;
  let tools: ToolClient | undefined;
  let currentCorrelation: string | undefined;
  let currentBatch: string | undefined;
  let progressAt = 0;
  const taskReportedAt = new Map<string, number>();
  let initialized = false;
  let stopping = false;
  let crashed = false;
  let systemBusy = false;
  let batchesStarted = 0;
  let current: Promise<void> | undefined;
  let running: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let control: Int32Array | undefined;
  let systemReceived = 0;
  let sourceOffset: AgentContext["sourceOffset"];

  const crash = (reason: "uncaught_error" | "unhandled_rejection" | "run_failed", e: unknown) => {
    if (crashed) return;
    crashed = true;
    abort.abort();
    post({ type: "crash", reason, error: serializeError(e) });
  };
  scope.addEventListener("error", (e) => {
    e.preventDefault();
    crash("uncaught_error", (e as ErrorEvent).error ?? (e as ErrorEvent).message);
  });
  scope.addEventListener("unhandledrejection", (e) => {
    e.preventDefault();
    crash("unhandled_rejection", (e as PromiseRejectionEvent).reason);
  });

  const context = (correlationId: string | undefined): AgentContext => ({
    actorId,
    config,
    correlationId,
    publish(topic, records) {
      const id = ++nextPublish;
      return new Promise((resolve, reject) => {
        pendingPublish.set(id, { topic, resolve, reject });
        post({ type: "publish", id, topic, records });
      });
    },
    tools: tools!,
    log: getLogger(["qistream", "agent", spec.name]).with(
      correlationId === undefined ? { actorId } : { actorId, correlationId },
    ),
    metrics,
    signal: abort.signal,
    ...(sourceOffset ? { sourceOffset } : {}),
    progress(task, done, total, finished = false) {
      const now = performance.now();
      if (!finished && now - (taskReportedAt.get(task) ?? -Infinity) < TASK_PROGRESS_EVERY_MS) return;
      taskReportedAt.set(task, now);
      post({ type: "task_progress", task, done, ...(total !== undefined ? { total } : {}), finished });
    },
  });

  const init = (m: Extract<ToWorker, { type: "init" }>) => {
    actorId = m.actorId;
    sourceOffset = {
      stored: m.sourceOffset,
      commit: (position) => post({ type: "offset", position }),
    };
    control = new Int32Array(m.control);
    configureSync({
      reset: true,
      sinks: {
        main: (r: LogRecord) =>
          post({
            type: "log",
            record: {
              category: [...r.category],
              level: r.level,
              message: r.message.map((p) => (typeof p === "string" ? p : safeString(p))).join(""),
              timestamp: r.timestamp,
              properties: cloneable(r.properties),
            },
          }),
      },
      loggers: [
        { category: ["logtape", "meta"], sinks: ["main"], lowestLevel: "warning" },
        { category: ["qistream"], sinks: ["main"], lowestLevel: "debug" },
      ],
    });
    const parsed = spec.config ? spec.config.safeParse(m.config) : { success: true as const, data: m.config };
    if (!parsed.success) {
      post({ type: "init_failed", error: serializeError(parsed.error) });
      return;
    }
    config = parsed.data;
    const toolClient = createToolClient(m.toolPort, spec.tools ?? [], () => currentCorrelation);
    // A settled tool call is progress: a handler retrying through an outage is busy, not hung.
    tools = {
      call: (name, args, opts) => toolClient.call(name, args, opts).finally(progress),
      list: () => toolClient.list(),
    };
    initialized = true;
    post({ type: "ready", name: spec.name });
    setInterval(() => {
      if (metrics.size > 0) post({ type: "metrics", metrics: metrics.drain() });
    }, METRICS_FLUSH_MS);
    if (agent.run) {
      running = (async () => {
        try {
          await agent.run!(context(undefined));
          if (!stopping && !crashed) finish("normal");
        } catch (e) {
          if (!abort.signal.aborted) crash("run_failed", e);
        }
      })();
    }
    void userLoop();
  };

  const progress = () => {
    const now = performance.now();
    if (currentBatch === undefined || now - progressAt < PROGRESS_EVERY_MS) return;
    progressAt = now;
    post({ type: "progress", batchId: currentBatch });
  };

  const finish = (reason: "normal" | "shutdown") => {
    stopping = true;
    abort.abort();
    if (metrics.size > 0) post({ type: "metrics", metrics: metrics.drain() });
    post({ type: "stopped", reason });
    scope.close();
  };

  const systemLoop = async () => {
    if (systemBusy) return;
    systemBusy = true;
    try {
      for (let m = system.shift(); m; m = system.shift()) {
        if (m.type === "ping") {
          post({ type: "pong", id: m.id, batchesStarted, queued: user.length });
        } else if (m.type === "config") {
          const parsed = spec.config
            ? spec.config.safeParse(m.config)
            : { success: true as const, data: m.config };
          if (!parsed.success) {
            post({ type: "config_result", id: m.id, error: serializeError(parsed.error) });
            continue;
          }
          try {
            await agent.configure?.(parsed.data, context(undefined));
            config = parsed.data;
            post({ type: "config_result", id: m.id });
          } catch (e) {
            post({ type: "config_result", id: m.id, error: serializeError(e) });
          }
        } else if (m.type === "stop" && !stopping) {
          stopping = true;
          abort.abort();
          wake?.();
          await Promise.allSettled([current, running]);
          finish("shutdown");
          return;
        }
      }
    } finally {
      systemBusy = false;
      wake?.();
    }
  };

  const userLoop = async () => {
    while (!stopping && !crashed) {
      const systemInFlight = control !== undefined && Atomics.load(control, 0) > systemReceived;
      if (systemBusy || system.length > 0 || systemInFlight || user.length === 0) {
        if (system.length > 0) void systemLoop();
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
        continue;
      }
      const batch = user.shift()!;
      batchesStarted++;
      current = runBatch(batch);
      await current;
      current = undefined;
    }
  };

  const runBatch = async (batch: AgentBatch) => {
    const started = performance.now();
    currentCorrelation = batch.correlationId ?? batch.records[0]?.headers["correlation-id"];
    currentBatch = batch.id;
    progressAt = started;
    try {
      if (!agent.receive) throw new TypeError(`agent "${spec.name}" has no receive() handler`);
      await agent.receive(batch, context(currentCorrelation));
      post({
        type: "ack",
        batchId: batch.id,
        durationMs: performance.now() - started,
        metrics: metrics.drain(),
      });
    } catch (e) {
      post({
        type: "fail",
        batchId: batch.id,
        durationMs: performance.now() - started,
        error: serializeError(e),
        metrics: metrics.drain(),
      });
    } finally {
      currentCorrelation = undefined;
      currentBatch = undefined;
    }
  };

  scope.addEventListener("message", (e) => {
    const m = (e as MessageEvent<ToWorker>).data;
    switch (m.type) {
      case "init":
        if (!initialized) init(m);
        return;
      case "batch":
        user.push(m.batch);
        wake?.();
        return;
      case "publish_result": {
        const p = pendingPublish.get(m.id);
        if (!p) return;
        pendingPublish.delete(m.id);
        if (m.ok) p.resolve(m.result);
        else {
          p.reject(
            new AgentPublishError(p.topic, m.error.message, {
              remoteName: m.error.name,
              retriable: m.error.retriable,
            }),
          );
        }
        return;
      }
      default:
        systemReceived++;
        system.push(m);
        wake?.();
        void systemLoop();
    }
  });
}

function safeString(v: unknown): string {
  try {
    return typeof v === "object" ? JSON.stringify(v) : String(v);
  } catch {
    return String(v);
  }
}

function cloneable(props: Record<string, unknown>): Record<string, unknown> {
  try {
    return structuredClone(props);
  } catch {
    return JSON.parse(safeString(props)) as Record<string, unknown>;
  }
}
