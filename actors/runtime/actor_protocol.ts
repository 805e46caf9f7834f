/**
 * Messages between an actor handle (main thread) and its Worker runtime. Both sides import these types only.
 *
 * System messages (`stop`, `ping`, `config`) overtake user messages (`batch`) inside the Worker: they go to a
 * separate queue that is drained before the next user batch starts.
 *
 * @module
 */
import type { AgentBatch } from "./agent_batch.ts";
import type { PublishedRecord } from "../../connector/types.ts";
import type { AgentRecord } from "./agent_record.ts";
import { retriableOf } from "../../core/retriable.ts";

/** An error flattened for structured clone. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  retriable?: boolean;
}

/** One buffered metric observation reported by the Worker. */
export interface MetricSample {
  kind: "counter" | "histogram" | "gauge";
  name: string;
  help?: string;
  labels: Record<string, string>;
  value: number;
}

/** A LogTape record flattened for structured clone. */
export interface LogSample {
  category: string[];
  level: "trace" | "debug" | "info" | "warning" | "error" | "fatal";
  message: string;
  timestamp: number;
  properties: Record<string, unknown>;
}

/** Main thread → Worker. */
export type ToWorker =
  | {
    type: "init";
    actorId: string;
    config: unknown;
    /** `Int32Array` view, index 0: system messages the handle has posted (incremented before each post). */
    control: SharedArrayBuffer;
    toolPort?: MessagePort;
    /** A source's saved position (`ctx.sourceOffset.stored`); absent when there is none or no offset store. */
    sourceOffset?: unknown;
  }
  | { type: "batch"; batch: AgentBatch }
  | { type: "stop" }
  | { type: "ping"; id: number }
  | { type: "config"; id: number; config: unknown }
  | { type: "publish_result"; id: number; ok: true; result: PublishedRecord[] }
  | { type: "publish_result"; id: number; ok: false; error: SerializedError };

/** Worker → main thread. */
export type FromWorker =
  | { type: "ready"; name: string }
  | { type: "init_failed"; error: SerializedError }
  | { type: "ack"; batchId: string; durationMs: number; metrics: MetricSample[] }
  | { type: "fail"; batchId: string; durationMs: number; error: SerializedError; metrics: MetricSample[] }
  | { type: "pong"; id: number; batchesStarted: number; queued: number }
  | { type: "config_result"; id: number; error?: SerializedError }
  | { type: "publish"; id: number; topic: string; records: AgentRecord[] }
  | { type: "metrics"; metrics: MetricSample[] }
  /** A source's position, every record before it acknowledged: the handle saves it in the offset store. */
  | { type: "offset"; position: unknown }
  /** The running batch's handler made progress (a tool call settled): its deadline starts again. */
  | { type: "progress"; batchId: string }
  | { type: "log"; record: LogSample }
  /** A long task's progress (`ctx.progress`): records done of a total when known. */
  | { type: "task_progress"; task: string; done: number; total?: number; finished: boolean }
  | { type: "crash"; reason: "uncaught_error" | "unhandled_rejection" | "run_failed"; error: SerializedError }
  | { type: "stopped"; reason: "normal" | "shutdown" };

/** System message kinds that overtake user batches. */
export type SystemMessage = Extract<ToWorker, { type: "stop" | "ping" | "config" }>;

/**
 * Flattens any thrown value for postMessage.
 *
 * @param e The thrown value.
 * @returns A structured-clone-safe error description.
 */
export function serializeError(e: unknown): SerializedError {
  if (e instanceof Error) {
    const retriable = retriableOf(e);
    return {
      name: e.name,
      message: e.message,
      stack: e.stack,
      ...(typeof retriable === "boolean" ? { retriable } : {}),
    };
  }
  return { name: "Error", message: String(e) };
}
