import { runContractSuite } from "../contract/contract_suite.ts";
import { EmbeddedConnector } from "./embedded_connector.ts";

// One data directory for the file: every connector the suite makes opens the same log, as Kafka clients share
// one cluster. Tests use their own topics and groups.
const dataDir = await Deno.makeTempDir({ prefix: "qistream-embedded-contract-" });
globalThis.addEventListener("unload", () => Deno.removeSync(dataDir, { recursive: true }));

runContractSuite("embedded", () => new EmbeddedConnector({ dataDir, retryBackoffMs: 50 }), {
  timeoutMs: 20_000,
});
