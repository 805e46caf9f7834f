import assert from "node:assert/strict";
import postgres from "postgres";
import { needs, uniqueName } from "../tests/service_env.ts";
import { scramSha256Verifier } from "./_scram_verifier.ts";

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

Deno.test({
  ...needs("DATABASE_URL"),
  name: "scramSha256Verifier computes the verifier PostgreSQL itself stores for the same salt and iterations",
  fn: async () => {
    const sql = postgres(Deno.env.get("DATABASE_URL")!, { max: 1, onnotice: () => {} });
    const role = uniqueName("scram").toLowerCase();
    const password = "Reader-pw_0123456789abcdef";
    try {
      // The test services authenticate by trust, so a login would prove nothing: compare with the server's own.
      await sql.begin(async (tx) => {
        await tx`SET LOCAL password_encryption = 'scram-sha-256'`;
        await tx.unsafe(`CREATE ROLE "${role}" PASSWORD '${password}'`);
      });
      const [{ stored }] =
        await sql`SELECT rolpassword AS stored FROM pg_authid WHERE rolname = ${role}` as unknown as [
          { stored: string },
        ];
      const m = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(stored);
      assert.ok(m, `the server stored a SCRAM verifier: ${stored.slice(0, 20)}...`);
      assert.equal(await scramSha256Verifier(password, fromBase64(m[2]!), Number(m[1])), stored);
      assert.notEqual(await scramSha256Verifier("other", fromBase64(m[2]!), Number(m[1])), stored);
      await assert.rejects(() => scramSha256Verifier("with space"), RangeError);
    } finally {
      await sql.unsafe(`DROP ROLE IF EXISTS "${role}"`);
      await sql.end();
    }
  },
});
