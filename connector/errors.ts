/**
 * Typed errors of the stream connector. Every error a connector raises for a domain condition is a
 * {@link ConnectorError} with a `retriable` flag that retry loops and supervisors read, and the underlying
 * client error as `cause`. Bad arguments raise built-in errors (`TypeError`, `RangeError`) instead.
 *
 * @module
 */

/** Options shared by every connector error. */
export interface ConnectorErrorOptions {
  /** The underlying error (e.g. the kafkajs error). */
  cause?: unknown;
  /** Whether trying the same operation again may succeed. */
  retriable?: boolean;
}

/**
 * Base class of the connector's errors.
 *
 * @example
 * ```ts
 * try {
 *   await connector.publish("market.ticks", records);
 * } catch (e) {
 *   if (e instanceof ConnectorError && e.retriable) scheduleRetry();
 *   else throw e;
 * }
 * ```
 */
export class ConnectorError extends Error {
  /** Whether trying the same operation again may succeed. */
  readonly retriable: boolean;

  constructor(message: string, options: ConnectorErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = "ConnectorError";
    this.retriable = options.retriable ?? false;
  }
}

/** The connector could not reach the log (brokers down, TLS/SASL failure after retries). */
export class ConnectionError extends ConnectorError {
  /** The brokers (or data directory) that were tried. */
  readonly brokers: string[];

  constructor(brokers: string[], options: ConnectorErrorOptions = {}) {
    super(
      `Cannot connect to the stream: brokers ${brokers.join(",")} are unreachable` +
        (options.cause instanceof Error ? ` (${options.cause.message})` : ""),
      { retriable: true, ...options },
    );
    this.name = "ConnectionError";
    this.brokers = brokers;
  }
}

/** Authentication or authorisation failed (SASL credentials, ACLs); retrying does not help. */
export class AuthenticationError extends ConnectorError {
  constructor(message: string, options: ConnectorErrorOptions = {}) {
    super(message, { retriable: false, ...options });
    this.name = "AuthenticationError";
  }
}

/** The topic does not exist on the log. */
export class UnknownTopicError extends ConnectorError {
  readonly topic: string;

  constructor(topic: string, options: ConnectorErrorOptions = {}) {
    super(`Unknown topic "${topic}": it does not exist on the log`, { retriable: false, ...options });
    this.name = "UnknownTopicError";
    this.topic = topic;
  }
}

/** A topic to create already exists. */
export class TopicExistsError extends ConnectorError {
  readonly topic: string;

  constructor(topic: string, options: ConnectorErrorOptions = {}) {
    super(`Cannot create topic "${topic}": it already exists`, { retriable: false, ...options });
    this.name = "TopicExistsError";
    this.topic = topic;
  }
}

/** A record is larger than the log accepts (`message.max.bytes` / `max.message.bytes`). */
export class RecordTooLargeError extends ConnectorError {
  readonly topic: string;
  /** Size of the offending record (key + value + headers), in bytes; -1 if the broker did not say. */
  readonly size: number;
  /** The limit in bytes; -1 if unknown. */
  readonly limit: number;

  constructor(topic: string, size: number, limit: number, options: ConnectorErrorOptions = {}) {
    super(
      `Cannot publish to "${topic}": record of ${
        size < 0 ? "unknown size" : `${size} bytes`
      } exceeds the limit` +
        (limit < 0 ? "" : ` of ${limit} bytes`),
      { retriable: false, ...options },
    );
    this.name = "RecordTooLargeError";
    this.topic = topic;
    this.size = size;
    this.limit = limit;
  }
}

/**
 * A fetched record batch is marked with a compression codec id Kafka does not define (5–7); fetching it again
 * cannot help.
 */
export class UnsupportedCompressionError extends ConnectorError {
  /** The codec id of the batch attributes (bits 0–2). */
  readonly codecId: number;

  constructor(codecId: number, options: ConnectorErrorOptions = {}) {
    super(
      `Cannot read a record batch: compression codec id ${codecId} is not one Kafka defines ` +
        `(0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd)`,
      { retriable: false, ...options },
    );
    this.name = "UnsupportedCompressionError";
    this.codecId = codecId;
  }
}

/** A fetched record batch could not be decompressed with its codec (corrupt or truncated); not retriable. */
export class DecompressionError extends ConnectorError {
  /** The batch's codec: `gzip`, `snappy`, `lz4` or `zstd`. */
  readonly codec: string;
  /** Size of the compressed payload, in bytes. */
  readonly bytes: number;

  constructor(codec: string, bytes: number, options: ConnectorErrorOptions = {}) {
    const why = options.cause instanceof Error ? `: ${options.cause.message}` : "";
    super(`Cannot decompress a ${codec} record batch of ${bytes} bytes${why}`, {
      retriable: false,
      ...options,
    });
    this.name = "DecompressionError";
    this.codec = codec;
    this.bytes = bytes;
  }
}

/** Publishing failed; `retriable` tells whether the same records may be sent again. */
export class PublishError extends ConnectorError {
  readonly topic: string;
  /** How many records the failed call carried. */
  readonly records: number;

  constructor(topic: string, records: number, options: ConnectorErrorOptions = {}) {
    const why = options.cause instanceof Error ? `: ${options.cause.message}` : "";
    super(`Cannot publish ${records} record(s) to "${topic}"${why}`, options);
    this.name = "PublishError";
    this.topic = topic;
    this.records = records;
  }
}

/** Committing offsets failed (e.g. the group rebalanced and the partition moved). */
export class CommitError extends ConnectorError {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;

  constructor(
    group: string,
    topic: string,
    partition: number,
    offset: string,
    options: ConnectorErrorOptions = {},
  ) {
    const why = options.cause instanceof Error ? `: ${options.cause.message}` : "";
    super(`Cannot commit ${topic}[${partition}]@${offset} for group "${group}"${why}`, options);
    this.name = "CommitError";
    this.group = group;
    this.topic = topic;
    this.partition = partition;
    this.offset = offset;
  }
}

/** The connector (or subscription) was closed; the operation was not performed. */
export class ConnectorClosedError extends ConnectorError {
  constructor(what = "connector", options: ConnectorErrorOptions = {}) {
    super(`Cannot use the ${what}: it is closed`, { retriable: false, ...options });
    this.name = "ConnectorClosedError";
  }
}

/** An admin operation (create, alter, delete topics, partitions) failed. */
export class TopicAdminError extends ConnectorError {
  /** The operation, e.g. `createTopics`. */
  readonly operation: string;
  readonly topics: string[];

  constructor(operation: string, topics: string[], options: ConnectorErrorOptions = {}) {
    const why = options.cause instanceof Error ? `: ${options.cause.message}` : "";
    super(`Topic admin ${operation} failed for ${topics.join(", ")}${why}`, options);
    this.name = "TopicAdminError";
    this.operation = operation;
    this.topics = topics;
  }
}

/**
 * A consumer stopped on an error its client does not retry by itself (e.g. kafkajs' `KafkaJSNotImplemented` for
 * a record batch whose codec it lacks). The membership has ended; subscribing again may succeed (`retriable`),
 * and a supervisor decides whether to, within its restart intensity.
 */
export class ConsumerCrashedError extends ConnectorError {
  readonly group: string;

  constructor(group: string, options: ConnectorErrorOptions = {}) {
    const cause = options.cause;
    const why = cause instanceof Error ? `: ${cause.name}: ${cause.message}` : "";
    super(`The consumer of group "${group}" crashed${why}`, { retriable: true, ...options });
    this.name = "ConsumerCrashedError";
    this.group = group;
  }
}
