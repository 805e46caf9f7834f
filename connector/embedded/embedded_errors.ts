/**
 * Errors specific to the embedded log.
 *
 * @module
 */

import { ConnectorError, type ConnectorErrorOptions } from "../errors.ts";

/** Another process (or another connector in this process) holds the data directory's lock. */
export class DataDirLockedError extends ConnectorError {
  /** The data directory. */
  readonly dataDir: string;
  /** Process id recorded in the lock file. */
  readonly pid: number;

  constructor(dataDir: string, pid: number, options: ConnectorErrorOptions = {}) {
    super(
      `Cannot open the embedded log in "${dataDir}": it is in use by process ${pid}. The embedded log is ` +
        `single-process only; stop the other process, or configure Kafka brokers to run several processes`,
      { retriable: false, ...options },
    );
    this.name = "DataDirLockedError";
    this.dataDir = dataDir;
    this.pid = pid;
  }
}

/** A segment file is damaged somewhere other than a torn last frame. */
export class LogCorruptionError extends ConnectorError {
  /** The damaged segment file. */
  readonly path: string;
  /** Byte position where the damage starts. */
  readonly position: number;

  constructor(path: string, position: number, reason: string, options: ConnectorErrorOptions = {}) {
    super(`Cannot open segment "${path}": ${reason} (at byte ${position})`, { retriable: false, ...options });
    this.name = "LogCorruptionError";
    this.path = path;
    this.position = position;
  }
}
