/**
 * A tool served as an `/api` endpoint too, from its one definition: the arguments are the path's `{name}`
 * segments plus the query string (GET) or the JSON body (POST), validated by the tool's own input schema; the
 * answer is the tool's result as JSON. The permission is the tool's name, so one role table covers both doors.
 *
 * @module
 */
import type { ApiEndpoint } from "./api_http_handler.ts";
import type { AnyToolDefinition } from "./tool_definition.ts";

/**
 * @param tool The tool.
 * @param path The endpoint's path, e.g. `/api/deadletters/{ref}`.
 * @param method GET for a read-only tool, POST otherwise, unless given.
 * @returns The endpoint: 400 for arguments the schema refuses, 404/409 for a `RangeError` (`No …` is 404).
 */
export function toolEndpoint(
  tool: AnyToolDefinition,
  path: string,
  method: "GET" | "POST" = tool.annotations.readOnlyHint ? "GET" : "POST",
): ApiEndpoint {
  return {
    path,
    method,
    permission: tool.name,
    handle: async (request, ctx) => {
      let body: Record<string, unknown> = {};
      if (method === "POST") {
        const text = await request.text();
        try {
          body = text.trim() === "" ? {} : JSON.parse(text);
        } catch (error) {
          return Response.json({ error: `the body is not JSON: ${(error as Error).message}` }, {
            status: 400,
          });
        }
      } else body = Object.fromEntries(new URL(request.url).searchParams);
      const parsed = tool.inputSchema.safeParse({ ...body, ...ctx.params });
      if (!parsed.success) {
        const problems = parsed.error.issues.map((i: { path: PropertyKey[]; message: string }) =>
          `${i.path.map(String).join(".") || "(arguments)"}: ${i.message}`
        );
        return Response.json({ error: `invalid arguments of ${tool.name}: ${problems.join("; ")}` }, {
          status: 400,
        });
      }
      try {
        // Not request.signal: Deno.serve's legacy behaviour aborts it once a response is sent.
        const signal = new AbortController().signal;
        return Response.json(await tool.handler(parsed.data, { caller: ctx.caller, signal }));
      } catch (error) {
        if (error instanceof RangeError) {
          return Response.json({ error: error.message }, { status: /^No /.test(error.message) ? 404 : 409 });
        }
        throw error;
      }
    },
  };
}
