/**
 * Routes kafkajs's own logs into qistream's LogTape loggers (`qistream.connector.kafka.<namespace>`).
 * kafkajs ERROR and WARN keep their level; its INFO and DEBUG chatter becomes `debug`, so a process at the
 * default `info` level only hears from kafkajs when something is wrong. Two known-benign kinds are lowered to
 * `debug` as well: the per-response protocol errors the connection logs before kafkajs retries (the outcome
 * reaches the caller as a typed error), and the warning about the idempotent producer's limited retries (we
 * limit them on purpose, so `publish` fails with a retriable error during an outage instead of hanging).
 *
 * @module
 */
import { type LogEntry, logLevel } from "kafkajs";
import { getLogger } from "../../core/log.ts";

const BENIGN = [/^Response \w+\(key: \d+, version: \d+\)$/, /^Limiting retries for the idempotent producer/];

/**
 * A kafkajs `logCreator`.
 *
 * @example
 * ```ts
 * new Kafka({ brokers, logCreator: kafkaLogCreator });
 * ```
 */
export function kafkaLogCreator(_level: logLevel): (entry: LogEntry) => void {
  return ({ namespace, level, log }) => {
    const { message, timestamp: _timestamp, logger: _logger, ...extra } = log;
    const logger = getLogger(["connector", "kafka", ...(namespace ? [namespace] : [])]);
    const raw = String(message);
    // LogTape reads `{name}` as a placeholder: escape braces so kafkajs text stays literal.
    const text = raw.replaceAll("{", "{{").replaceAll("}", "}}");
    if (BENIGN.some((pattern) => pattern.test(raw))) {
      logger.debug(text, extra);
      return;
    }
    switch (level) {
      case logLevel.ERROR:
        logger.error(text, extra);
        break;
      case logLevel.WARN:
        logger.warn(text, extra);
        break;
      default:
        logger.debug(text, extra);
    }
  };
}
