/**
 * Every supervision default, stated in one place (OTP's where OTP has one).
 *
 * @module
 */

/** Defaults of supervisors, actors and restart backoff. */
export const SUPERVISOR_DEFAULTS = {
  /** OTP default strategy. */
  strategy: "one_for_one",
  /** OTP: at most `intensity` restarts in `periodMs`, else the supervisor gives up and escalates. */
  intensity: 1,
  /** OTP: 5 seconds. */
  periodMs: 5000,
  /** Child restart type. */
  restart: "permanent",
  /** Shutdown of a worker child (OTP: 5000 ms). */
  actorShutdownMs: 5000,
  /** Shutdown of a supervisor child (OTP: infinity). */
  supervisorShutdown: "infinity",
  /** Restart backoff: first delay, cap, +/- jitter fraction, and uptime after which the delay resets. */
  backoff: { minMs: 10, maxMs: 10_000, jitter: 0.2, resetAfterMs: 30_000 },
  /** Unacked batches an actor may hold. */
  creditWindow: 4,
  /** Batches an actor handle queues (beyond the window) before `send` rejects with MailboxFullError. */
  mailboxCapacity: 64,
  /** Time for a Worker to load its module and answer `ready`. */
  startTimeoutMs: 10_000,
  /**
   * Longest a batch may run before its actor counts as hung: the Worker is terminated, the crash is blamed on
   * that batch (a failed try) and the supervisor restarts it. Kafka's `max.poll.interval.ms` plays this part
   * for a consumer (300 s); a market-data batch takes milliseconds to seconds, so 60 s.
   */
  batchDeadlineMs: 60_000,
  /**
   * Liveness of an idle Worker (one that ended itself with `self.close()` answers nothing): a ping every
   * `intervalMs`, and no message for `timeoutMs` while no batch runs is a crash. Kafka's consumer heartbeat
   * before 3.0: every 3 s, session timeout 10 s. While a batch runs, its deadline is the limit instead (a
   * CPU-bound handler cannot answer pings).
   */
  heartbeat: { intervalMs: 2000, timeoutMs: 10_000 },
} as const;
