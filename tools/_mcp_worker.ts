/**
 * Test Worker: receives a MessagePort, connects the SDK `Client` over a `MessagePortTransport`, lists the tools,
 * calls `demo.echo` and `demo.write`, and posts the results back.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { MessagePortTransport } from "./message_port_transport.ts";

self.onmessage = async (e: MessageEvent<{ port: MessagePort }>) => {
  const client = new Client({ name: "worker", version: "0" });
  await client.connect(new MessagePortTransport(e.data.port));
  const { tools } = await client.listTools();
  const echo = await client.callTool({ name: "demo.echo", arguments: { text: "from worker" } });
  const write = await client.callTool({ name: "demo.write", arguments: { value: "w" } });
  await client.close();
  self.postMessage({ tools: tools.map((t: { name: string }) => t.name), echo, write });
};
