/**
 * `qistream ask "question"`: asks a running node (its `POST /api/ask`) and prints the answer as it streams,
 * then every SQL statement the model ran with the rows it used. Finds the node and the token as
 * `qistream tools` does.
 *
 * @module
 */
import { LOCAL_TOKEN_FILE } from "../pipeline/local_mcp_token.ts";
import { type Command, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "./command.ts";
import { nodeEndpoint } from "./_node_endpoint.ts";
import { parseCommandArgs } from "./_parse_command_args.ts";

const USAGE = `Usage: qistream ask [options] "QUESTION"

Asks a running node (deno task start) a question about its data. An LLM (connections.llm, e.g. OPENAI_BASE_URL
and OPENAI_API_KEY on the node) explores the schema and answers with read-only SQL; the answer is printed as it
streams, followed by the SQL it ran and the rows it used. Every exchange is audited on the node.

Options:
  --url URL          the node's ask endpoint (default: http://<node.http.host>:<node.http.port>/api/ask)
  --token TOKEN      bearer token (default: $QISTREAM_MCP_TOKEN, else <dataDir>/${LOCAL_TOKEN_FILE})
  --json             print the whole answer as JSON instead
  -c, --config PATH  pipeline file (default: $QISTREAM_CONFIG, else pipeline.yaml)
  -h, --help         show this help

Examples:
  deno task ask "how many BTC-USD ticks arrived in the last minute?"
  deno task ask --json "which symbol moved most in the last 5 minutes?"`;

/** The answer event of `/api/ask`. */
interface AnswerEvent {
  answer: string;
  queries: Array<{ tool: string; sql: string; rows: Record<string, unknown>[]; rowCount: number }>;
  toolCalls: number;
  refusals: number;
  model: string;
  durationMs: number;
}

/** `qistream ask`. */
export const askCommand: Command = {
  name: "ask",
  summary: "ask a running node a question about its data (LLM over read-only SQL)",
  usage: USAGE,
  async run(args, context) {
    const parsed = parseCommandArgs(args, USAGE, {
      url: { type: "string" },
      token: { type: "string" },
      json: { type: "boolean" },
      config: { type: "string", short: "c" },
      help: { type: "boolean", short: "h" },
    }, true);
    if (typeof parsed === "number") return parsed;
    const { values, positionals } = parsed;
    const question = positionals.join(" ").trim();
    if (question === "") {
      console.error(USAGE);
      return EXIT_USAGE;
    }
    const endpoint = await nodeEndpoint({ ...values, config: values.config ?? context.config }, "/api/ask");
    if (typeof endpoint === "number") return endpoint;
    let response: Response;
    try {
      response = await fetch(endpoint.url, {
        method: "POST",
        headers: { authorization: `Bearer ${endpoint.token}`, "content-type": "application/json" },
        body: JSON.stringify({ question }),
        ...(context.signal ? { signal: context.signal } : {}),
      });
    } catch (e) {
      console.error(`Cannot reach the node at ${endpoint.url}: ${(e as Error).message}`);
      return EXIT_FAILURE;
    }
    if (!response.ok || !response.body) {
      const text = await response.text();
      let message = text;
      try {
        message = JSON.parse(text).error ?? text;
      } catch {
        // not JSON
      }
      console.error(`${endpoint.url} answered ${response.status}: ${message}`);
      return response.status === 404 ? EXIT_USAGE : EXIT_FAILURE;
    }
    const out = new TextEncoder();
    let answer: AnswerEvent | undefined;
    let failure: { reason: string; error: string } | undefined;
    let streamedText = false;
    for await (const { event, data } of serverSentEvents(response.body)) {
      if (event === "text" && !values.json) {
        Deno.stdout.writeSync(out.encode((data as { delta: string }).delta));
        streamedText = true;
      } else if (event === "tool_call" && !values.json) {
        const call = data as { tool: string; outcome: string; reason?: string };
        if (call.outcome !== "ok") console.error(`(${call.tool} ${call.outcome}: ${call.reason ?? ""})`);
      } else if (event === "answer") answer = data as AnswerEvent;
      else if (event === "error") failure = data as { reason: string; error: string };
    }
    if (failure || !answer) {
      if (streamedText) console.log();
      console.error(
        `No answer: ${failure ? `${failure.reason}: ${failure.error}` : "the stream ended early"}`,
      );
      return EXIT_FAILURE;
    }
    if (values.json) {
      console.log(JSON.stringify(answer, null, 2));
      return EXIT_OK;
    }
    if (!streamedText) Deno.stdout.writeSync(out.encode(answer.answer));
    console.log();
    for (const query of answer.queries) {
      console.log(`\nSQL (${query.tool}):\n  ${query.sql.replaceAll("\n", "\n  ")}`);
      console.log(`rows (${query.rowCount}):`);
      for (const row of query.rows.slice(0, 20)) console.log(`  ${JSON.stringify(row)}`);
      if (query.rows.length > 20) console.log(`  … ${query.rows.length - 20} more`);
    }
    console.log(
      `\n(${answer.model}, ${answer.toolCalls} tool calls${
        answer.refusals ? `, ${answer.refusals} refused` : ""
      }, ${answer.durationMs} ms)`,
    );
    return EXIT_OK;
  },
};

/**
 * Parses a `text/event-stream` body into events.
 *
 * @param body the response body
 * @returns the events, in order
 */
export async function* serverSentEvents(
  body: ReadableStream<Uint8Array>,
): AsyncGenerator<{ event: string; data: unknown }> {
  let buffer = "";
  for await (const chunk of body.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
      }
      if (data.length === 0) continue;
      yield { event, data: JSON.parse(data.join("\n")) };
    }
  }
}
