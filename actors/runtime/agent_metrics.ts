/**
 * In-Worker metrics: observations are buffered and reported to the main thread, which owns the registry.
 *
 * @module
 */
import type { MetricSample } from "./actor_protocol.ts";

/** What an agent sees as `ctx.metrics`. Names must match `[a-z_][a-z0-9_]*`; the main thread adds `actor`/`agent` labels. */
export interface AgentMetrics {
  /** Adds `value` (default 1) to a counter. */
  inc(name: string, labels?: Record<string, string>, value?: number): void;
  /** Sets a gauge. */
  set(name: string, value: number, labels?: Record<string, string>): void;
  /** Observes a histogram value (seconds for durations). */
  observe(name: string, value: number, labels?: Record<string, string>): void;
}

const NAME = /^[a-z_][a-z0-9_]*$/;

/** A metrics facade whose samples are drained by the runtime and sent with acks or on a timer. */
export class MetricBuffer implements AgentMetrics {
  #samples: MetricSample[] = [];

  /** @inheritdoc */
  inc(name: string, labels: Record<string, string> = {}, value = 1): void {
    this.#push("counter", name, labels, value);
  }

  /** @inheritdoc */
  set(name: string, value: number, labels: Record<string, string> = {}): void {
    this.#push("gauge", name, labels, value);
  }

  /** @inheritdoc */
  observe(name: string, value: number, labels: Record<string, string> = {}): void {
    this.#push("histogram", name, labels, value);
  }

  /** Takes the buffered samples. */
  drain(): MetricSample[] {
    const out = this.#samples;
    this.#samples = [];
    return out;
  }

  /** Number of buffered samples. */
  get size(): number {
    return this.#samples.length;
  }

  #push(kind: MetricSample["kind"], name: string, labels: Record<string, string>, value: number): void {
    if (!NAME.test(name)) {
      throw new RangeError(`Cannot record metric: name must match ${NAME}, current value is ${name}`);
    }
    if (!Number.isFinite(value)) {
      throw new RangeError(`Cannot record metric ${name}: current value is ${value}`);
    }
    this.#samples.push({ kind, name, labels, value });
  }
}
