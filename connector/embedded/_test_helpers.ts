// Shared helpers of the embedded log's tests (not exported from mod.ts).
import type { ConnectorStatus, StreamConnector } from "../types.ts";
import { waitFor } from "../../tests/wait_for.ts";

/** A fresh temporary data directory. */
export function tempDir(): Promise<string> {
  return Deno.makeTempDir({ prefix: "qistream-embedded-" });
}

/** Waits until `check` returns true (the shared `waitFor`), or fails after `timeoutMs`. */
export function until(check: () => boolean, timeoutMs = 5000, what = "condition"): Promise<void> {
  return waitFor(check, what, { timeoutMs });
}

/** Collects a connector's status events. */
export function statuses(connector: StreamConnector): ConnectorStatus[] {
  const seen: ConnectorStatus[] = [];
  connector.onStatus((s) => seen.push(s));
  return seen;
}

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
export const text = (b: Uint8Array | null): string | null => b === null ? null : new TextDecoder().decode(b);
