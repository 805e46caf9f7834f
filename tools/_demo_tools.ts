/**
 * Test helper: two small tools (`demo.echo`, read-only; `demo.write`, a write into an in-memory list) for
 * transport and access-control tests that need no database.
 *
 * @module
 */
import { z } from "zod";
import { type AnyToolDefinition, defineTool } from "./tool_definition.ts";

/** Builds the demo tools; `written` receives what `demo.write` was given, with the caller. */
export function demoTools(
  written: { caller: string; value: string; correlationId?: string }[] = [],
): AnyToolDefinition[] {
  return [
    defineTool({
      name: "demo.echo",
      role: "reader",
      title: "Echo",
      description: "Returns its text and the caller.",
      inputSchema: z.object({ text: z.string() }),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      handler: ({ text }, ctx) => Promise.resolve({ text, caller: ctx.caller }),
    }),
    defineTool({
      name: "demo.write",
      role: "writer",
      title: "Write",
      description: "Appends a value; fails for the value 'boom'.",
      inputSchema: z.object({ value: z.string() }),
      annotations: {
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: false,
        openWorldHint: false,
      },
      handler: ({ value }, ctx) => {
        if (value === "boom") return Promise.reject(new TypeError("boom refused"));
        written.push({ caller: ctx.caller, value, correlationId: ctx.correlationId });
        return Promise.resolve({ count: written.length });
      },
    }),
  ];
}
