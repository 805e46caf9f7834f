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
} as const;
