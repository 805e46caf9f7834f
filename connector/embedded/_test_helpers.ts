// Shared helpers of the embedded log's tests (not exported from mod.ts).
import type { ConnectorStatus, StreamConnector } from "../types.ts";

/** A fresh temporary data directory. */
export function tempDir(): Promise<string> {
  return Deno.makeTempDir({ prefix: "qistream-embedded-" });
}

/** Waits until `check` returns true, polling every 10 ms, or fails after `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs = 5000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Collects a connector's status events. */
export function statuses(connector: StreamConnector): ConnectorStatus[] {
  const seen: ConnectorStatus[] = [];
  connector.onStatus((s) => seen.push(s));
  return seen;
}

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
export const text = (b: Uint8Array | null): string | null => b === null ? null : new TextDecoder().decode(b);
