/**
 * The one reconnect loop every streaming source shares: connect, let the source subscribe, watch for
 * silence (missed heartbeats), and on any close wait with backoff and jitter, then connect again, until
 * the signal aborts or the source declares a fatal error.
 *
 * @module
 */
import { abortableSleep } from "../../core/abortable_sleep.ts";
import { backoffDelay, type BackoffOptions } from "../../core/backoff_delay.ts";
import type { CircuitBreaker } from "./circuit_breaker.ts";

/** One live connection, as the source sees it. */
export interface SocketSession {
  /** 1 for the first connection, then 2, 3... */
  readonly number: number;
  /** Sends a JSON message (dropped when the socket is not open). */
  send(message: unknown): void;
  /** Resets the silence watchdog (call on heartbeats). */
  beat(): void;
  /** Marks the connection healthy: the next reconnect starts from the initial backoff again. */
  markHealthy(): void;
  /** Closes this connection; the loop reconnects after backoff. */
  reconnect(reason: string): void;
  /** Closes this connection and ends the loop with `error` (e.g. bad credentials). */
  fail(error: Error): void;
}

/** A status change of the loop. */
export type SocketStatus =
  | { type: "connecting"; number: number }
  | { type: "open"; number: number }
  | { type: "closed"; number: number; reason: string }
  | { type: "waiting"; delayMs: number; attempt: number };

/** Options of {@link runReconnectingWebSocket}. */
export interface ReconnectingWebSocketOptions {
  /** The URL, computed per connection. */
  url: string | (() => string);
  /** Called when a connection opened: send the subscriptions. */
  onOpen(session: SocketSession): void;
  /** Called with each text frame. */
  onMessage(data: string, session: SocketSession): void;
  /** Status changes, for logs and tests. */
  onStatus?(status: SocketStatus): void;
  /** Reconnect backoff. */
  backoff?: BackoffOptions;
  /** No reconnect waits less than this (after jitter). Default 0. */
  minDelayMs?: number;
  /** Close and reconnect when no {@link SocketSession.beat} came for this long. Off when absent. */
  silenceTimeoutMs?: number;
  /** Sends `keepalive.message` every `keepalive.intervalMs` while open. */
  keepalive?: { intervalMs: number; message: unknown };
  /** Records connection outcomes; while open, connecting waits for the breaker. */
  breaker?: CircuitBreaker;
  /** Stops the loop. */
  signal: AbortSignal;
  /** Random source in [0, 1), for tests. */
  random?: () => number;
}

/**
 * Runs the loop until `signal` aborts (resolves) or a session calls `fail` (rejects with that error).
 *
 * @param options URL, callbacks, backoff, watchdog
 * @returns resolves when stopped by the signal
 * @throws the error passed to {@link SocketSession.fail}
 */
export async function runReconnectingWebSocket(options: ReconnectingWebSocketOptions): Promise<void> {
  const { signal } = options;
  let attempt = 0;
  let number = 0;
  while (!signal.aborted) {
    number++;
    options.onStatus?.({ type: "connecting", number });
    const outcome = await session(options, number);
    if (outcome.fatal) throw outcome.fatal;
    if (signal.aborted) return;
    if (outcome.healthy) attempt = 0;
    if (outcome.opened) options.breaker?.recordSuccess();
    else options.breaker?.recordFailure(new Error(outcome.reason));
    let delayMs = backoffDelay(attempt, options.backoff, options.random);
    const open = options.breaker?.remainingOpenMs ?? 0;
    delayMs = Math.max(delayMs, open, options.minDelayMs ?? 0);
    attempt++;
    options.onStatus?.({ type: "waiting", delayMs, attempt });
    try {
      await abortableSleep(delayMs, signal);
    } catch {
      return;
    }
  }
}

interface Outcome {
  opened: boolean;
  healthy: boolean;
  reason: string;
  fatal?: Error;
}

function session(options: ReconnectingWebSocketOptions, number: number): Promise<Outcome> {
  const url = typeof options.url === "function" ? options.url() : options.url;
  return new Promise<Outcome>((resolve) => {
    const outcome: Outcome = { opened: false, healthy: false, reason: "closed" };
    let ws: WebSocket;
    try {
      ws = new WebSocket(url);
    } catch (e) {
      resolve({ ...outcome, reason: `cannot connect: ${(e as Error).message}` });
      return;
    }
    let done = false;
    let silence: ReturnType<typeof setTimeout> | undefined;
    let keepalive: ReturnType<typeof setInterval> | undefined;
    const finish = (reason: string, fatal?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(silence);
      clearInterval(keepalive);
      options.signal.removeEventListener("abort", onAbort);
      outcome.reason = reason;
      if (fatal) outcome.fatal = fatal;
      try {
        if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) {
          ws.close(1000, reason);
        }
      } catch { /* already closing */ }
      options.onStatus?.({ type: "closed", number, reason });
      resolve(outcome);
    };
    const onAbort = () => finish("stopped");
    options.signal.addEventListener("abort", onAbort, { once: true });
    const arm = () => {
      if (options.silenceTimeoutMs === undefined) return;
      clearTimeout(silence);
      silence = setTimeout(
        () => finish(`no heartbeat for ${options.silenceTimeoutMs} ms`),
        options.silenceTimeoutMs,
      );
    };
    const s: SocketSession = {
      number,
      send(message) {
        if (!done && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
      },
      beat: arm,
      markHealthy() {
        outcome.healthy = true;
      },
      reconnect(reason) {
        finish(reason);
      },
      fail(error) {
        finish(error.message, error);
      },
    };
    ws.onopen = () => {
      if (done) return;
      outcome.opened = true;
      options.onStatus?.({ type: "open", number });
      arm();
      if (options.keepalive) {
        const { intervalMs, message } = options.keepalive;
        keepalive = setInterval(() => s.send(message), intervalMs);
      }
      options.onOpen(s);
    };
    ws.onmessage = (event) => {
      if (done) return;
      const data = typeof event.data === "string" ? event.data : new TextDecoder().decode(event.data);
      options.onMessage(data, s);
    };
    ws.onerror = (event) => {
      const message = (event as ErrorEvent).message ?? "socket error";
      finish(outcome.opened ? `socket error: ${message}` : `cannot connect: ${message}`);
    };
    ws.onclose = (event) =>
      finish(`closed by upstream (code ${event.code}${event.reason ? `, ${event.reason}` : ""})`);
  });
}
