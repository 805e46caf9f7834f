/**
 * The error carried by a supervisor's exit when its restart intensity was exceeded.
 *
 * @module
 */

/** A supervisor saw more than `intensity` restarts within `periodMs`, stopped its children, and exited. */
export class SupervisorGaveUpError extends Error {
  readonly supervisor: string;
  readonly intensity: number;
  readonly periodMs: number;
  /** The parent may restart the supervisor (escalation). */
  readonly retriable = true;

  /**
   * @param supervisor Supervisor path.
   * @param intensity Max restarts.
   * @param periodMs Window.
   * @param cause The last child failure.
   */
  constructor(supervisor: string, intensity: number, periodMs: number, cause?: unknown) {
    super(`supervisor ${supervisor} reached max restart intensity (${intensity} in ${periodMs} ms)`, {
      cause,
    });
    this.name = "SupervisorGaveUpError";
    this.supervisor = supervisor;
    this.intensity = intensity;
    this.periodMs = periodMs;
  }
}
