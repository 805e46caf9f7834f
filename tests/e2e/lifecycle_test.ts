/**
 * The lifecycle API on a node, on the embedded log and on real Kafka: a pause over HTTP keeps the group membership and stops
 * fetching (lag grows, readiness passes saying "paused"), survives a node restart (the restarted node comes up
 * paused and its lag keeps growing), a resume over MCP drains it, commands are idempotent, only an admin token
 * may call them, and each transition is on the audit topic with who asked.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { LOCAL_ADMIN_TOKEN_FILE, LOCAL_TOKEN_FILE } from "../../pipeline/local_mcp_token.ts";
import type { DispatcherNode, SupervisorNode, TreeNode } from "../../supervisor/mod.ts";
import { readTopicToEnd } from "../../connector/read_topic_to_end.ts";
import { needs, services, uniqueName } from "../service_env.ts";
import { callTool, startNode, testConfig, type TestNode, waitFor } from "./_pipeline_harness.ts";

/** Names of one run: unique on a shared broker. */
interface Names {
  ticks: string;
  audit: string;
  group: string;
}

const config = (dataDir: string, n: Names, kafka: boolean) =>
  testConfig(
    `node: { dataDir: ${dataDir}, deadLetterTopic: ${n.ticks}.dlq, lagIntervalMs: 200, auditTopic: ${n.audit} }
topics:
  ${n.ticks}: { partitions: 2, schema: market.tick }
  ${n.ticks}.bars: { partitions: 1, schema: market.bar }
  ${n.ticks}.dlq: { partitions: 1 }
agents:
  feed: { kind: synthetic, publish: [${n.ticks}], config: { ratePerSecond: 100, topics: { tick: ${n.ticks} } } }
  bars:
    kind: bar-builder
    subscribe: { topics: [${n.ticks}], group: ${n.group}, fromBeginning: true }
    publish: [${n.ticks}.bars, ${n.ticks}.dlq]
    config: { intervals: [1s], topic: ${n.ticks}.bars, deadLetterTopic: ${n.ticks}.dlq }`,
    kafka
      ? { KAFKA_BROKERS: services.kafkaBrokers!.join(","), SCHEMA_REGISTRY_URL: services.schemaRegistryUrl }
      : {},
  );

function dispatcherOf(tree: TreeNode): DispatcherNode | undefined {
  const agent = (tree as SupervisorNode).children.find((c) => c.id === "bars") as SupervisorNode | undefined;
  return agent?.children?.find((c) => c.type === "dispatcher") as DispatcherNode | undefined;
}

/** Records of the ticks topic not yet committed by the bar builder's group. */
async function lag(node: TestNode, n: Names): Promise<number> {
  const offsets = await node.pipeline.connector.offsets(n.ticks, n.group);
  return offsets.reduce((sum, o) => sum + Number(BigInt(o.high) - BigInt(o.committed ?? o.low)), 0);
}

async function post(node: TestNode, path: string, token: string) {
  const response = await fetch(`${node.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}` },
  });
  return { status: response.status, body: await response.json() };
}

async function scenario(kafka: boolean): Promise<void> {
  const n: Names = kafka
    ? { ticks: uniqueName("lc_ticks"), audit: uniqueName("lc_audit"), group: uniqueName("lc_bars") }
    : { ticks: "t.ticks", audit: "t.audit", group: "g.bars" };
  const dataDir = await Deno.makeTempDir({ prefix: "qistream-lifecycle-" });
  let node: TestNode | undefined;
  try {
    node = await startNode(config(dataDir, n, kafka));
    const admin = (await Deno.readTextFile(join(dataDir, LOCAL_ADMIN_TOKEN_FILE))).trim();
    const reader = (await Deno.readTextFile(join(dataDir, LOCAL_TOKEN_FILE))).trim();
    const first = node;
    await waitFor("bar-builder to commit ticks", async () => {
      const committed = (await first.pipeline.connector.offsets(n.ticks, n.group))
        .reduce((n, o) => n + Number(o.committed ?? 0), 0);
      return { done: committed > 50, seen: committed };
    });

    const forbidden = await post(node, "/api/agents/bars/pause", reader);
    assert.equal(forbidden.status, 403, JSON.stringify(forbidden.body));
    const paused = await post(node, "/api/agents/bars/pause", admin);
    assert.equal(paused.status, 200, JSON.stringify(paused.body));
    assert.equal(paused.body.agent.desired, "paused");
    assert.equal(paused.body.agent.state, "paused");
    assert.equal(paused.body.agent.by, "http:local-admin");
    const again = await post(node, "/api/agents/bars/pause", admin);
    assert.deepEqual(again.body, paused.body, "a second pause changes nothing");
    const source = await post(node, "/api/agents/feed/pause", admin);
    assert.equal(source.status, 409, "a source has no group to pause");
    assert.equal((await post(node, "/api/agents/nope/pause", admin)).status, 404);

    const membership = dispatcherOf(node.pipeline.tree())!;
    assert.equal(membership.subscription.state, "consuming", "paused keeps the membership");
    assert.equal(membership.paused?.by, "http:local-admin");
    const ready = await fetch(`${node.url}/readyz`);
    const report = await ready.json();
    assert.equal(ready.status, 200, JSON.stringify(report));
    const check = report.checks.find((c: { name: string }) => c.name === "consumer:bars");
    assert.match(check.detail, /^paused by http:local-admin at .*not a fault/);

    let lagPaused = 0;
    await waitFor("lag to grow while paused", async () => {
      lagPaused = await lag(first, n);
      return { done: lagPaused > 300, seen: lagPaused };
    });

    await node.stop();
    node = undefined;
    node = await startNode(config(dataDir, n, kafka));
    const second = node;
    const restarted = dispatcherOf(second.pipeline.tree())!;
    assert.equal(restarted.paused?.by, "http:local-admin", "the restarted node comes up paused");
    const kept = await callTool(second.url, reader, "lifecycle.agents", {});
    const bars = (kept.agents as { agent: string; desired: string }[]).find((a) => a.agent === "bars");
    assert.equal(bars?.desired, "paused");
    await waitFor("lag to keep growing after the restart", async () => {
      const now = await lag(second, n);
      return { done: now > lagPaused + 300, seen: { now, lagPaused } };
    });

    const resumed = await callTool(second.url, admin, "lifecycle.resume", { agent: "bars" });
    assert.equal((resumed.agent as { state: string }).state, "running");
    await waitFor("the lag to drain after resume", async () => {
      const now = await lag(second, n);
      return { done: now < 100, seen: now };
    }, 90_000);

    // Stop leaves the group and keeps readiness honest; start rejoins; restarts bring the agent back.
    const stopped = await post(second, "/api/agents/bars/stop", admin);
    assert.equal(stopped.body.agent.state, "stopped", JSON.stringify(stopped.body));
    assert.equal(
      (await post(second, "/api/agents/bars/resume", admin)).status,
      409,
      "a stopped agent is not resumed",
    );
    const readyStopped = await (await fetch(`${second.url}/readyz`)).json();
    const stoppedCheck = readyStopped.checks.find((c: { name: string }) => c.name === "consumer:bars");
    assert.ok(
      stoppedCheck.ok && /^stopped by http:local-admin/.test(stoppedCheck.detail),
      JSON.stringify(stoppedCheck),
    );
    const startedAgain = await post(second, "/api/agents/bars/start", admin);
    assert.equal(startedAgain.body.agent.state, "running", JSON.stringify(startedAgain.body));
    await waitFor("the started consumer to join again", () =>
      Promise.resolve({
        done: dispatcherOf(second.pipeline.tree())?.subscription.state === "consuming",
        seen: dispatcherOf(second.pipeline.tree())?.subscription,
      }));
    const restartedAgent = await post(second, "/api/agents/bars/restart", admin);
    assert.equal(restartedAgent.body.agent.state, "running", JSON.stringify(restartedAgent.body));
    const restartedActor = await post(second, "/api/actors/bars-0/restart", admin);
    assert.equal(restartedActor.status, 200, JSON.stringify(restartedActor.body));

    const audit = await readTopicToEnd(second.pipeline.connector, n.audit);
    const entries = audit.map((r) => JSON.parse(new TextDecoder().decode(r.value!)));
    assert.deepEqual(
      entries.map((e) => [e.command, e.agent, e.by, e.from, e.to]),
      [
        ["pause", "bars", "http:local-admin", "running", "paused"],
        ["resume", "bars", "http:local-admin", "paused", "running"],
        ["stop", "bars", "http:local-admin", "running", "stopped"],
        ["start", "bars", "http:local-admin", "stopped", "running"],
        ["restart", "bars", "http:local-admin", "running", "running"],
        ["restart_actor", "bars", "http:local-admin", "running", "running"],
      ],
    );
  } finally {
    await node?.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
}

const NAME = "lifecycle: a pause keeps the membership and survives a node restart; resume drains; " +
  "stop/start/restart; audited";

Deno.test({
  name: `${NAME} (embedded log)`,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => scenario(false),
});

Deno.test({
  name: `${NAME} (real Kafka; needs KAFKA_BROKERS, SCHEMA_REGISTRY_URL)`,
  ...needs("KAFKA_BROKERS", "SCHEMA_REGISTRY_URL"),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => scenario(true),
});
