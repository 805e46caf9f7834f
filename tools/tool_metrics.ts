/**
 * Metrics of tool calls, in the process registry.
 *
 * @module
 */
import type { Counter, Histogram } from "prom-client";
import { counter, histogram } from "../core/metrics.ts";

/** `mcp_tool_denied_total{caller,tool}`: calls refused by the caller's allow-list. */
export function toolDenied(): Counter<"caller" | "tool"> {
  return counter({
    name: "mcp_tool_denied_total",
    help: "MCP tool calls refused because the tool is not in the caller's allow-list",
    labelNames: ["caller", "tool"],
  });
}

/** `mcp_tool_call_duration_seconds{tool,outcome}`: every call; outcome is `ok`, `error` or `denied`. */
export function toolCallDuration(): Histogram<"tool" | "outcome"> {
  return histogram({
    name: "mcp_tool_call_duration_seconds",
    help: "Duration of MCP tool calls by tool and outcome (ok, error, denied)",
    labelNames: ["tool", "outcome"],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  });
}
