/**
 * The error carried by a supervisor's exit when its restart intensity was exceeded.
 *
 * @module
 */

/**
 * A supervisor saw more than `intensity` restarts within `periodMs`, stopped its children, and exited. Its message
 * ends with the last child failure's, so the root's give-up names what kept failing, e.g.
 * `supervisor root reached max restart intensity (3 in 60000 ms); last failure: supervisor root/pg reached … ;
 * last failure: The consumer of group "pg" crashed: KafkaJSNotImplemented: LZ4 compression not implemented`.
 */
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
    const last = cause instanceof Error ? `; last failure: ${cause.message}` : "";
    super(`supervisor ${supervisor} reached max restart intensity (${intensity} in ${periodMs} ms)${last}`, {
      cause,
    });
    this.name = "SupervisorGaveUpError";
    this.supervisor = supervisor;
    this.intensity = intensity;
    this.periodMs = periodMs;
  }
}
