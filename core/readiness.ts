/**
 * Readiness checks behind `/readyz`: named checks registered by the parts that must be connected
 * (broker, sinks, ...). The process is ready only when every check passes.
 *
 * @module
 */
import { redactText } from "./log_redact.ts";

/**
 * One check: resolves when ready; throws (or rejects) with the reason when not. It receives a signal
 * that aborts at the check's timeout. A string it returns is shown as the passing check's `detail` (a state an
 * operator chose, such as a pause, that is not a fault).
 */
export type ReadinessCheck = (signal: AbortSignal) => void | string | Promise<void | string>;

/** The outcome of one check. */
export interface CheckResult {
  /** The check's name, e.g. `kafka`. */
  readonly name: string;
  /** Whether it passed. */
  readonly ok: boolean;
  /** Why it failed (redacted), when it failed. */
  readonly reason?: string;
  /** What a passing check wants said (e.g. `paused by http:ops at …`). */
  readonly detail?: string;
}

/** The outcome of all checks. */
export interface ReadinessReport {
  /** True when every check passed (also when there are none). */
  readonly ready: boolean;
  /** One result per check, in registration order. */
  readonly checks: readonly CheckResult[];
}

/**
 * A set of named readiness checks.
 *
 * @example
 * ```ts
 * const readiness = new ReadinessChecks();
 * const remove = readiness.add("kafka", () => { if (!producer.connected) throw new Error("not connected"); });
 * const report = await readiness.run(); // { ready: false, checks: [{ name: "kafka", ok: false, reason: "not connected" }] }
 * ```
 */
export class ReadinessChecks {
  readonly #checks = new Map<string, { check: ReadinessCheck; timeoutMs: number }>();

  /**
   * Registers a check.
   *
   * @param name unique name shown in `/readyz`
   * @param check the check
   * @param options `timeoutMs` (default 2000): a check slower than this fails
   * @returns a function that removes the check
   * @throws {Error} when a check with this name exists
   */
  add(name: string, check: ReadinessCheck, options: { timeoutMs?: number } = {}): () => void {
    if (this.#checks.has(name)) throw new Error(`Cannot add readiness check "${name}": it already exists`);
    const entry = { check, timeoutMs: options.timeoutMs ?? 2000 };
    this.#checks.set(name, entry);
    return () => {
      if (this.#checks.get(name) === entry) this.#checks.delete(name);
    };
  }

  /** Names of the registered checks. */
  get names(): string[] {
    return [...this.#checks.keys()];
  }

  /**
   * Runs every check concurrently, each bounded by its timeout.
   *
   * @returns the report
   */
  async run(): Promise<ReadinessReport> {
    const checks = await Promise.all([...this.#checks].map(async ([name, { check, timeoutMs }]) => {
      const controller = new AbortController();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const error = new Error(`timed out after ${timeoutMs} ms`);
          controller.abort(error);
          reject(error);
        }, timeoutMs);
      });
      try {
        const detail = await Promise.race([Promise.resolve().then(() => check(controller.signal)), timedOut]);
        return typeof detail === "string" ? { name, ok: true, detail } : { name, ok: true };
      } catch (e) {
        return { name, ok: false, reason: redactText(e instanceof Error ? e.message : String(e)) };
      } finally {
        clearTimeout(timer);
      }
    }));
    return { ready: checks.every((c) => c.ok), checks };
  }
}
