/**
 * Where a running node is and which token to show it, for the commands that talk to one (`tools`, `ask`):
 * `--url` / `--token` when given, else the node's `node.http` address from the pipeline file and the token
 * from `$QISTREAM_MCP_TOKEN` or the node's local token file (`<dataDir>/mcp-token`).
 *
 * @module
 */
import { join } from "node:path";
import { LOCAL_TOKEN_FILE } from "../pipeline/local_mcp_token.ts";
import { EXIT_USAGE } from "./command.ts";
import { loadCommandConfig } from "./_load_command_config.ts";

/** A node's base URL (`http://127.0.0.1:8080`) and the bearer token to use. */
export interface NodeEndpoint {
  /** The node's base URL, or the exact URL given with `--url`. */
  url: string;
  token: string;
}

/**
 * Finds the node and the token; prints the problem and returns an exit code when there is no token.
 *
 * @param given `--url`, `--token` and `--config` as passed
 * @param path the endpoint's path appended to the discovered base URL (e.g. `/mcp`); `--url` is used as is
 * @returns the endpoint, or the exit code to return
 */
export async function nodeEndpoint(
  given: { url?: string; token?: string; config?: string },
  path: string,
): Promise<NodeEndpoint | number> {
  let url = given.url;
  let token = given.token ?? Deno.env.get("QISTREAM_MCP_TOKEN");
  if (!url || !token) {
    const loaded = await loadCommandConfig(given.config);
    if (typeof loaded === "number") return loaded;
    const { config } = loaded;
    const host = config.node.http.host === "0.0.0.0" ? "127.0.0.1" : config.node.http.host;
    url ??= `http://${host}:${config.node.http.port}${path}`;
    token ??= (await Deno.readTextFile(join(config.node.dataDir, LOCAL_TOKEN_FILE)).catch(() => "")).trim() ||
      undefined;
  }
  if (!token) {
    console.error(
      "No MCP token: pass --token, set QISTREAM_MCP_TOKEN, or start the node once to create one.",
    );
    return EXIT_USAGE;
  }
  return { url, token };
}
