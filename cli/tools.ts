/**
 * `qistream tools list|call`: an MCP client for a running node's `/mcp` endpoint, e.g. to see what the sinks
 * wrote: `qistream tools call postgres.query '{"sql":"SELECT count(*) FROM market_ticks"}'`.
 *
 * @module
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { LOCAL_TOKEN_FILE } from "../pipeline/local_mcp_token.ts";
import { type Command, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "./command.ts";
import { nodeEndpoint } from "./_node_endpoint.ts";
import { parseCommandArgs } from "./_parse_command_args.ts";

const USAGE = `Usage: qistream tools list
       qistream tools call NAME [ARGUMENTS_JSON]

Calls the MCP tools of a running node (deno task start) over its /mcp endpoint.

Options:
  --url URL          MCP endpoint (default: http://<node.http.host>:<node.http.port>/mcp from the config)
  --token TOKEN      bearer token (default: $QISTREAM_MCP_TOKEN, else <dataDir>/${LOCAL_TOKEN_FILE})
  -c, --config PATH  pipeline file (default: $QISTREAM_CONFIG, else pipeline.yaml)
  -h, --help         show this help

Examples:
  deno task tools list
  deno task tools call postgres.query '{"sql":"SELECT symbol, count(*) FROM market_ticks GROUP BY 1"}'
  deno task tools call stream.topic_stats '{"topic":"market.ticks","group":"qistream.postgres-sink"}'`;

/** `qistream tools`. */
export const toolsCommand: Command = {
  name: "tools",
  summary: "list or call the MCP tools of a running node",
  usage: USAGE,
  async run(args, context) {
    const parsed = parseCommandArgs(args, USAGE, {
      url: { type: "string" },
      token: { type: "string" },
      config: { type: "string", short: "c" },
      help: { type: "boolean", short: "h" },
    }, true);
    if (typeof parsed === "number") return parsed;
    const { values, positionals } = parsed;
    const [action, name, json] = positionals;
    if (action !== "list" && !(action === "call" && name)) {
      console.error(USAGE);
      return EXIT_USAGE;
    }
    let toolArgs: Record<string, unknown> = {};
    if (json !== undefined) {
      try {
        toolArgs = JSON.parse(json);
      } catch (e) {
        console.error(`ARGUMENTS_JSON is not valid JSON: ${(e as Error).message}`);
        return EXIT_USAGE;
      }
    }

    const endpoint = await nodeEndpoint({ ...values, config: values.config ?? context.config }, "/mcp");
    if (typeof endpoint === "number") return endpoint;
    const { url, token } = endpoint;

    const client = new Client({ name: "qistream-cli", version: "0.1.0" });
    const transport = new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    });
    try {
      await client.connect(transport);
      if (action === "list") {
        const { tools } = await client.listTools();
        for (const tool of tools) {
          console.log(`${tool.name.padEnd(28)} ${tool.title ?? tool.description ?? ""}`);
        }
        return EXIT_OK;
      }
      const result = await client.callTool({ name: name!, arguments: toolArgs });
      const output = result.structuredContent ??
        (result.content as { type: string; text?: string }[]).map((c) => c.text ?? "").join("\n");
      console.log(typeof output === "string" ? output : JSON.stringify(output, null, 2));
      return result.isError ? EXIT_FAILURE : EXIT_OK;
    } catch (e) {
      console.error(`MCP call to ${url} failed: ${(e as Error).message}`);
      return EXIT_FAILURE;
    } finally {
      await client.close().catch(() => {});
    }
  },
};
