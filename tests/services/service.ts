/**
 * The shape every test service (Kafka, schema registry, PostgreSQL, ClickHouse) has for the launcher.
 *
 * @module
 */

/** What the launcher hands a service when it starts it. */
export interface ServiceContext {
  /** A fresh directory owned by this run, for data and logs. */
  runDir: string;
  /** The project's download cache (`.cache/services`), kept between runs. */
  cacheDir: string;
  /** Progress lines for the person waiting. */
  progress(message: string): void;
  /** Records a started process group at once, so teardown finds it even when the start fails later. */
  track(pid: number): void;
  /** Aborted when the run is interrupted. */
  signal: AbortSignal;
}

/** A started service, as recorded in the launcher's state file. */
export interface RunningService {
  name: string;
  /** Process group ids to signal on teardown (each process was started in its own session). */
  pids: number[];
  /** Environment variables the tests read to reach it, e.g. `KAFKA_BROKERS`. */
  env: Record<string, string>;
  /** The log file to show when it fails. */
  logFile?: string;
  /** The signal that asks it to stop (default SIGTERM), and how long it gets before SIGKILL (default 10 s). */
  stopSignal?: Deno.Signal;
  stopGraceMs?: number;
}

/** A service the launcher can start. */
export interface ServiceDefinition {
  name: string;
  /** When any of these variables is set, the service is taken from the environment instead of started. */
  overrideEnv: string[];
  start(ctx: ServiceContext): Promise<RunningService>;
}

/** A service that did not come up: its name, the command, and the tail of its log. */
export class ServiceStartError extends Error {
  override name = "ServiceStartError";
  constructor(
    readonly service: string,
    readonly command: string[],
    readonly reason: string,
    readonly logTail: string,
    options?: ErrorOptions,
  ) {
    super(
      `${service} did not come up: ${reason}\n  command: ${command.join(" ")}\n  log tail:\n${
        logTail.split("\n").map((line) => `    ${line}`).join("\n")
      }`,
      options,
    );
  }
}
