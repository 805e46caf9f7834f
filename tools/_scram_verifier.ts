/**
 * A PostgreSQL SCRAM-SHA-256 password verifier (the `rolpassword` format), computed on the client as
 * `psql \password` does, so `CREATE ROLE ... PASSWORD '<verifier>'` never sends the password itself (statement logs
 * would keep it).
 *
 * Format (RFC 5802/7677, PostgreSQL `scram_build_secret`): `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`
 * with SaltedPassword = PBKDF2-HMAC-SHA-256(password, salt, iterations), ClientKey = HMAC(SaltedPassword,
 * "Client Key"), StoredKey = SHA-256(ClientKey), ServerKey = HMAC(SaltedPassword, "Server Key"), all base64.
 *
 * @module
 */

const encoder = new TextEncoder();

function base64(bytes: ArrayBuffer | Uint8Array): string {
  return btoa(String.fromCharCode(...new Uint8Array(bytes)));
}

async function hmac(key: ArrayBuffer, text: string): Promise<ArrayBuffer> {
  const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return await crypto.subtle.sign("HMAC", k, encoder.encode(text));
}

/**
 * Computes the verifier of an ASCII password (no SASLprep is applied: use generated ASCII passwords).
 *
 * @param password The password.
 * @param salt 16 random bytes by default.
 * @param iterations 4096 by default (PostgreSQL's `scram_iterations` default).
 * @returns The verifier string.
 * @throws {RangeError} For a password that is not printable ASCII.
 */
export async function scramSha256Verifier(
  password: string,
  salt: Uint8Array = crypto.getRandomValues(new Uint8Array(16)),
  iterations = 4096,
): Promise<string> {
  if (!/^[\x21-\x7e]+$/.test(password)) {
    throw new RangeError(
      "Cannot compute a SCRAM verifier: the password must be printable ASCII without spaces",
    );
  }
  const key = await crypto.subtle.importKey("raw", encoder.encode(password), "PBKDF2", false, ["deriveBits"]);
  const salted = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt: salt as Uint8Array<ArrayBuffer>, iterations },
    key,
    256,
  );
  const storedKey = await crypto.subtle.digest("SHA-256", await hmac(salted, "Client Key"));
  const serverKey = await hmac(salted, "Server Key");
  return `SCRAM-SHA-256$${iterations}:${base64(salt)}$${base64(storedKey)}:${base64(serverKey)}`;
}
