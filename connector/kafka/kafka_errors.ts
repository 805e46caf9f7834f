/**
 * Maps kafkajs errors to the connector's typed errors (`connector/errors.ts`), keeping the original as `cause`.
 *
 * @module
 */
import {
  AuthenticationError,
  ConnectionError,
  ConnectorError,
  PublishError,
  RecordTooLargeError,
  UnknownTopicError,
} from "../errors.ts";

interface KafkaJsErrorLike {
  name?: string;
  message?: string;
  type?: string;
  retriable?: boolean;
  originalError?: unknown;
  cause?: unknown;
}

const AUTH_TYPES = new Set([
  "SASL_AUTHENTICATION_FAILED",
  "TOPIC_AUTHORIZATION_FAILED",
  "GROUP_AUTHORIZATION_FAILED",
  "CLUSTER_AUTHORIZATION_FAILED",
  "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
  "UNSUPPORTED_SASL_MECHANISM",
]);

const CONNECTION_NAMES = new Set([
  "KafkaJSConnectionError",
  "KafkaJSConnectionClosedError",
  "KafkaJSRequestTimeoutError",
  "KafkaJSBrokerNotFound",
  "KafkaJSNoBrokerAvailableError",
  "KafkaJSLockTimeout",
]);

/**
 * The innermost kafkajs error of a chain (`KafkaJSNumberOfRetriesExceeded` wraps the last attempt's error).
 *
 * @param error anything thrown by kafkajs
 * @returns the root error
 */
export function rootKafkaError(error: unknown): unknown {
  let current: unknown = error;
  for (let depth = 0; depth < 8; depth++) {
    const e = current as KafkaJsErrorLike | null;
    const next = e?.originalError ?? (e?.name?.startsWith("KafkaJS") ? e?.cause : undefined);
    if (!next || next === current) break;
    current = next;
  }
  return current;
}

/**
 * Whether an error means the brokers could not be reached (as opposed to a rejected request).
 *
 * @param error anything thrown by kafkajs
 */
export function isConnectionFailure(error: unknown): boolean {
  const root = rootKafkaError(error) as KafkaJsErrorLike | null;
  const top = error as KafkaJsErrorLike | null;
  return CONNECTION_NAMES.has(root?.name ?? "") || CONNECTION_NAMES.has(top?.name ?? "") ||
    /ECONNREFUSED|ECONNRESET|ETIMEDOUT|Connection (error|timeout)/i.test(root?.message ?? "");
}

/**
 * Turns a kafkajs error raised while publishing into a typed connector error.
 *
 * @param error what kafkajs threw
 * @param topic the topic being published to
 * @param records how many records the failed call carried
 * @param brokers the bootstrap brokers (for connection errors)
 */
export function publishErrorFrom(
  error: unknown,
  topic: string,
  records: number,
  brokers: string[],
): ConnectorError {
  if (error instanceof ConnectorError) return error;
  const root = rootKafkaError(error) as KafkaJsErrorLike | null;
  const type = root?.type ?? (error as KafkaJsErrorLike | null)?.type;
  if (type === "MESSAGE_TOO_LARGE" || type === "RECORD_LIST_TOO_LARGE") {
    return new RecordTooLargeError(topic, -1, -1, { cause: error });
  }
  if (
    type === "UNKNOWN_TOPIC_OR_PARTITION" || /does not host this topic-partition/i.test(root?.message ?? "")
  ) {
    return new UnknownTopicError(topic, { cause: error });
  }
  if (type && AUTH_TYPES.has(type)) {
    return new AuthenticationError(`Not allowed to publish to "${topic}": ${root?.message}`, {
      cause: error,
    });
  }
  if (isConnectionFailure(error)) return new ConnectionError(brokers, { cause: error });
  return new PublishError(topic, records, { cause: error, retriable: root?.retriable === true });
}

/**
 * Turns a kafkajs error raised by connect/admin calls into a typed connector error.
 *
 * @param error what kafkajs threw
 * @param brokers the bootstrap brokers
 */
export function connectErrorFrom(error: unknown, brokers: string[]): ConnectorError {
  if (error instanceof ConnectorError) return error;
  const root = rootKafkaError(error) as KafkaJsErrorLike | null;
  const top = error as KafkaJsErrorLike | null;
  if (
    (root?.type && AUTH_TYPES.has(root.type)) || root?.name === "KafkaJSSASLAuthenticationError" ||
    top?.name === "KafkaJSSASLAuthenticationError"
  ) {
    return new AuthenticationError(`Cannot authenticate to ${brokers.join(",")}: ${root?.message}`, {
      cause: error,
    });
  }
  return new ConnectionError(brokers, { cause: error });
}
