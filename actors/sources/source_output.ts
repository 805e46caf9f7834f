/**
 * What every upstream client does with what it received: hands a record on without letting the handler's failure
 * stop the stream, and reports a payload that fails validation (counted in `source_malformed_total`, logged, passed
 * to `onMalformed`; the client goes on).
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { MarketRecord, RecordHandler } from "./market_record.ts";
import { MalformedPayloadError } from "./malformed_payload_error.ts";
import { MALFORMED, type MetricsSink, registrySink } from "../shared/source_metrics.ts";
import { getLogger } from "../../core/log.ts";

/** Where a client reports malformed payloads. */
export interface MalformedSink {
  /** The upstream, e.g. `twelvedata`. */
  source: string;
  metrics: MetricsSink;
  log: Logger;
  /** The client's `onMalformed` option. */
  onMalformed?: (raw: unknown, error: MalformedPayloadError) => void;
}

/**
 * A client's sink with its defaults: the process registry, and the logger `qistream.sources.<source>`.
 *
 * @param source the upstream
 * @param options the client's `metrics`, `log` and `onMalformed` options
 * @returns the sink
 */
export function sourceOutput(
  source: string,
  options: { metrics?: MetricsSink; log?: Logger; onMalformed?: MalformedSink["onMalformed"] },
): MalformedSink {
  return {
    source,
    metrics: options.metrics ?? registrySink(),
    log: options.log ?? getLogger(["sources", source]),
    onMalformed: options.onMalformed,
  };
}

/**
 * Reports a payload that failed validation.
 *
 * @param sink where to count, log and pass it
 * @param raw the payload as received
 * @param where which part of it, e.g. `ws frame`
 * @param detail what was wrong
 * @param cause the validation error
 */
export function reportMalformed(
  sink: MalformedSink,
  raw: unknown,
  where: string,
  detail: string,
  cause: unknown,
) {
  const error = new MalformedPayloadError(sink.source, where, detail, raw, cause);
  sink.metrics.inc(MALFORMED, { source: sink.source });
  sink.log.warn("malformed payload: {error}", { error: error.message });
  sink.onMalformed?.(raw, error);
}

/**
 * Hands a streamed record to its handler without awaiting it; a handler that throws or rejects is logged, and the
 * stream goes on.
 *
 * @param onRecord the client's record handler
 * @param record the normalised record
 * @param log the client's logger
 */
export function handOn(onRecord: RecordHandler, record: MarketRecord, log: Logger): void {
  const failed = (e: unknown) => log.error("record handler failed: {error}", { error: String(e) });
  try {
    onRecord(record)?.catch(failed);
  } catch (e) {
    failed(e);
  }
}
