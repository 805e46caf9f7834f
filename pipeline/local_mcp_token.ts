/**
 * A local MCP token for a node whose pipeline file declares none: generated once, kept in
 * `<dataDir>/mcp-token` (mode 0600) and valid with the `reader` role, so `deno task tools ...` and a local MCP
 * client can look into a fresh node without editing the configuration. Declared tokens replace it.
 *
 * @module
 */
import { join } from "node:path";
import type { McpToken } from "../tools/mod.ts";

/** File name of the local token inside the data directory. */
export const LOCAL_TOKEN_FILE = "mcp-token";

/** Reads the local token of a data directory, creating it when missing. */
export async function localMcpToken(dataDir: string): Promise<McpToken & { file: string }> {
  const file = join(dataDir, LOCAL_TOKEN_FILE);
  let token: string;
  try {
    token = (await Deno.readTextFile(file)).trim();
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    token = Array.from(crypto.getRandomValues(new Uint8Array(24)), (b) => b.toString(16).padStart(2, "0"))
      .join("");
    await Deno.mkdir(dataDir, { recursive: true });
    await Deno.writeTextFile(file, token + "\n", { mode: 0o600 });
  }
  return { name: "local", token, role: "reader", file };
}
