/**
 * The embedded stream connector: a single-process partitioned log in a data directory, with Kafka's semantics.
 * See docs/embedded-log.md for the on-disk format, guarantees and the single-process limit.
 *
 * @module
 */

export { EmbeddedConnector, type EmbeddedConnectorOptions } from "./embedded_connector.ts";
export { DataDirLockedError, LogCorruptionError } from "./embedded_errors.ts";
