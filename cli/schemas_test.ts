/**
 * `qistream schemas check|register` in a subprocess, against the embedded registry and the real registry from
 * the test services (skipped when SCHEMA_REGISTRY_URL is unset).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { HttpSchemaRegistry } from "../connector/registry/http_schema_registry.ts";
import { runCli } from "./_run_cli_for_test.ts";

const probe = (fields: unknown[]) =>
  JSON.stringify({
    type: "record",
    name: "Probe",
    namespace: "qistream.test",
    fields: [{ name: "symbol", type: "string" }, ...fields],
  });
const V1 = probe([]);
const V2 = probe([{ name: "bid", type: ["null", "double"], default: null }]);
const V3_BAD = probe([{ name: "bid", type: ["null", "double"], default: null }, {
  name: "venue",
  type: "string",
}]);

async function setup(level?: string) {
  const dir = await Deno.makeTempDir({ prefix: "qistream-cli-schemas-" });
  const topic = `qistream-cli-${Date.now().toString(36)}-${crypto.randomUUID().slice(0, 6)}`;
  await Deno.mkdir(join(dir, "schemas", "probe"), { recursive: true });
  await Deno.writeTextFile(
    join(dir, "schemas", "subjects.yaml"),
    `topics:\n  ${topic}:\n    schema: probe\n${level ? `    compatibility: ${level}\n` : ""}`,
  );
  await Deno.writeTextFile(join(dir, "pipeline.yaml"), `node:\n  dataDir: ${join(dir, "data")}\n`);
  const version = (n: number, text: string) =>
    Deno.writeTextFile(join(dir, "schemas", "probe", `v${n}.avsc`), text);
  const cli = (action: string, env: Record<string, string>) =>
    runCli(
      ["schemas", action, "--config", join(dir, "pipeline.yaml"), "--schemas", join(dir, "schemas")],
      env,
    );
  return { dir, topic, subject: `${topic}-value`, version, cli };
}

async function evolutionStory(env: Record<string, string>) {
  const { dir, subject, version, cli } = await setup();
  try {
    await version(1, V1);
    let r = await cli("check", env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`\\+ ${subject} \\(BACKWARD, local v1\\): new subject`));
    r = await cli("register", env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`registered ${subject}: v1 -> id \\d+`));
    if (env.SCHEMA_REGISTRY_URL) {
      // register set the declared level on the registry itself (Apicurio's global default is NONE).
      const level = await new HttpSchemaRegistry({ url: env.SCHEMA_REGISTRY_URL }).getCompatibility(subject);
      assert.equal(level, "BACKWARD");
    }

    // A compatible change (new optional field) checks and registers.
    await version(2, V2);
    r = await cli("check", env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /compatible change from registry v1/);
    r = await cli("register", env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /v2 -> id \d+/);
    r = await cli("check", env);
    assert.match(r.stdout, /up to date \(registry v2/);

    // An incompatible change (new required field) fails check and register, with the reason.
    await version(3, V3_BAD);
    r = await cli("check", env);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /INCOMPATIBLE/);
    assert.match(r.stdout, /venue/, "the reason names the field");
    assert.match(r.stderr, new RegExp(`FAILED: 1 subject\\(s\\) incompatible: ${subject}`));
    r = await cli("register", env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /nothing was registered/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("schemas check/register: evolution against the embedded registry", async () => {
  await evolutionStory({});
});

Deno.test("schemas check: consecutive local versions must be compatible under the subject's level", async () => {
  const { dir, version, cli } = await setup("FORWARD");
  try {
    await version(1, V2);
    await version(2, V1); // drops the optional `bid`: v1 readers fill in its default, so FORWARD holds
    await version(3, V3_BAD.replace('"venue","type":"string"', '"venue","type":"string","default":"x"'));
    let r = await cli("check", {});
    assert.equal(r.code, 0, r.stdout + r.stderr);
    // v4 changes symbol to an int: nobody can read anybody.
    await version(
      4,
      JSON.stringify({
        type: "record",
        name: "Probe",
        namespace: "qistream.test",
        fields: [{ name: "symbol", type: "int" }],
      }),
    );
    r = await cli("check", {});
    assert.equal(r.code, 1);
    assert.match(
      r.stdout,
      /local v4 vs earlier versions: FORWARD: version 3 cannot read data written with the new schema/,
    );
    // A gap in version numbers is a usage error naming the directory.
    await Deno.remove(join(dir, "schemas", "probe", "v2.avsc"));
    r = await cli("check", {});
    assert.equal(r.code, 2);
    assert.match(r.stderr, /without gaps/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const url = Deno.env.get("SCHEMA_REGISTRY_URL");
Deno.test({
  name: `schemas check/register: evolution against the real registry${
    url ? "" : " (skipped: SCHEMA_REGISTRY_URL is not set)"
  }`,
  ignore: !url,
  async fn() {
    await evolutionStory({ SCHEMA_REGISTRY_URL: url! });
  },
});
