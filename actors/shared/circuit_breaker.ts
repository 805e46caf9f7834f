/**
 * A circuit breaker per upstream: after `failureThreshold` consecutive failures it opens and rejects
 * calls at once with {@link CircuitOpenError}; after `openMs` it lets one trial call through
 * (half-open); that call's success closes it, its failure opens it again.
 *
 * @module
 */

/** The breaker's state. */
export type CircuitState = "closed" | "open" | "half-open";

/** Options of {@link CircuitBreaker}. */
export interface CircuitBreakerOptions {
  /** Name used in errors and logs, e.g. the upstream. */
  name: string;
  /** Consecutive failures that open the circuit. Default 5. */
  failureThreshold?: number;
  /** How long the circuit stays open before a trial call, in ms. Default 30 000. */
  openMs?: number;
  /** Whether an error counts as a failure. Default: every error except aborts and `bad_request`s. */
  isFailure?: (error: unknown) => boolean;
  /** Clock, for tests. */
  now?: () => number;
  /** Called on every state change. */
  onStateChange?: (state: CircuitState) => void;
}

/** Thrown instead of calling the upstream while the circuit is open. Retriable after `retryAfterMs`. */
export class CircuitOpenError extends Error {
  /** The breaker's name. */
  readonly circuit: string;
  /** When the next trial call will be allowed. */
  readonly retryAfterMs: number;
  /** Always true: the circuit closes again. */
  readonly retriable = true;

  constructor(circuit: string, retryAfterMs: number, cause?: unknown) {
    super(`Circuit ${circuit} is open: upstream failing, next trial in ${retryAfterMs} ms`, { cause });
    this.name = "CircuitOpenError";
    this.circuit = circuit;
    this.retryAfterMs = retryAfterMs;
  }
}

function defaultIsFailure(error: unknown): boolean {
  if (error instanceof DOMException && error.name === "AbortError") return false;
  return (error as { kind?: unknown })?.kind !== "bad_request";
}

/**
 * Guards calls to one upstream.
 *
 * @example
 * ```ts
 * const breaker = new CircuitBreaker({ name: "twelvedata", failureThreshold: 3, openMs: 10_000 });
 * const price = await breaker.call(() => client.price("AAPL"));
 * ```
 */
export class CircuitBreaker {
  readonly name: string;
  readonly #threshold: number;
  readonly #openMs: number;
  readonly #isFailure: (error: unknown) => boolean;
  readonly #now: () => number;
  readonly #onStateChange?: (state: CircuitState) => void;
  #state: CircuitState = "closed";
  #failures = 0;
  #openedAt = 0;
  #trialInFlight = false;
  #lastError: unknown;

  /** @throws {RangeError} when the threshold or open time is invalid */
  constructor(options: CircuitBreakerOptions) {
    this.name = options.name;
    this.#threshold = options.failureThreshold ?? 5;
    this.#openMs = options.openMs ?? 30_000;
    if (!(Number.isInteger(this.#threshold) && this.#threshold >= 1)) {
      throw new RangeError(
        `Cannot create circuit breaker: failureThreshold must be an integer >= 1, current value is ${this.#threshold}`,
      );
    }
    if (!(this.#openMs >= 0)) {
      throw new RangeError(
        `Cannot create circuit breaker: openMs must be >= 0, current value is ${this.#openMs}`,
      );
    }
    this.#isFailure = options.isFailure ?? defaultIsFailure;
    this.#now = options.now ?? Date.now;
    if (options.onStateChange) this.#onStateChange = options.onStateChange;
  }

  /** The current state (an open circuit whose time is up reports `half-open`). */
  get state(): CircuitState {
    if (this.#state === "open" && this.#now() - this.#openedAt >= this.#openMs) return "half-open";
    return this.#state;
  }

  /** Milliseconds until an open circuit allows a trial call; 0 when closed or half-open. */
  get remainingOpenMs(): number {
    if (this.#state !== "open") return 0;
    return Math.max(0, this.#openMs - (this.#now() - this.#openedAt));
  }

  /**
   * Runs `fn` unless the circuit is open.
   *
   * @param fn the upstream call
   * @returns what `fn` returned
   * @throws {CircuitOpenError} while open (or while a half-open trial is in flight)
   * @throws whatever `fn` threw
   */
  async call<T>(fn: () => Promise<T>): Promise<T> {
    this.#before();
    try {
      const result = await fn();
      this.recordSuccess();
      return result;
    } catch (error) {
      if (this.#isFailure(error)) this.recordFailure(error);
      else if (this.#state === "half-open") this.#trialInFlight = false;
      throw error;
    }
  }

  /** Records a success observed outside {@link call} (e.g. a websocket that connected). */
  recordSuccess(): void {
    this.#failures = 0;
    this.#trialInFlight = false;
    this.#set("closed");
  }

  /** Records a failure observed outside {@link call}. */
  recordFailure(error?: unknown): void {
    this.#lastError = error;
    this.#trialInFlight = false;
    this.#failures++;
    if (this.#state === "half-open" || this.#failures >= this.#threshold) {
      this.#openedAt = this.#now();
      this.#set("open");
    }
  }

  #before(): void {
    if (this.#state === "closed") return;
    const elapsed = this.#now() - this.#openedAt;
    if (this.#state === "open" && elapsed >= this.#openMs) this.#set("half-open");
    if (this.#state === "open") {
      throw new CircuitOpenError(this.name, Math.max(0, this.#openMs - elapsed), this.#lastError);
    }
    if (this.#trialInFlight) throw new CircuitOpenError(this.name, this.#openMs, this.#lastError);
    this.#trialInFlight = true;
  }

  #set(state: CircuitState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#onStateChange?.(state);
  }
}
