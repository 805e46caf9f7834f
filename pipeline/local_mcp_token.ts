/**
 * A local MCP token for a node whose pipeline file declares none: generated once, kept in
 * `<dataDir>/mcp-token` (mode 0600) and valid with the `reader` role, so `deno task tools ...` and a local MCP
 * client can look into a fresh node without editing the configuration. A second one, `<dataDir>/admin-token`
 * with the `admin` role, is what the dashboard link `deno task start` prints carries (as Jupyter's link does):
 * whoever can read the data dir runs the node anyway. Declared tokens replace both.
 *
 * @module
 */
import { join } from "node:path";
import type { McpToken } from "../tools/mod.ts";

/** File name of the local token inside the data directory. */
export const LOCAL_TOKEN_FILE = "mcp-token";

/** File name of the local admin token inside the data directory. */
export const LOCAL_ADMIN_TOKEN_FILE = "admin-token";

/** Reads the local token of a data directory, creating it when missing. */
export function localMcpToken(dataDir: string): Promise<McpToken & { file: string }> {
  return localToken(dataDir, LOCAL_TOKEN_FILE, "local", "reader");
}

/** Reads the local admin token of a data directory (the dashboard link's), creating it when missing. */
export function localAdminToken(dataDir: string): Promise<McpToken & { file: string }> {
  return localToken(dataDir, LOCAL_ADMIN_TOKEN_FILE, "local-admin", "admin");
}

async function localToken(
  dataDir: string,
  name: string,
  holder: string,
  role: string,
): Promise<McpToken & { file: string }> {
  const file = join(dataDir, name);
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
  return { name: holder, token, role, file };
}
