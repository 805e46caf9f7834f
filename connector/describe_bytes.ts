/**
 * Showing record bytes to a person: Confluent-framed Avro decoded through the schema registry into JSON, else
 * UTF-8 text when it is printable, else a hex preview.
 *
 * @module
 */
import type { AvroSerde } from "./avro/mod.ts";

/** Longest preview of bytes that are neither Avro nor text. */
const HEX_PREVIEW_BYTES = 256;

/**
 * Describes a value: `avro (schema id N): {json}`, `text: ...`, `hex (N bytes): ...` or `null`.
 *
 * @param bytes the value (or key)
 * @param serde decodes Avro; without one, Avro is shown as bytes
 * @returns one or more lines
 *
 * @example
 * ```ts
 * console.log(await describeBytes(record.value, serde));
 * ```
 */
export async function describeBytes(bytes: Uint8Array | null, serde?: AvroSerde): Promise<string> {
  if (bytes === null) return "null";
  let avroProblem = "";
  if (serde && bytes.length > 5 && bytes[0] === 0) {
    try {
      const { value, schemaId } = await serde.decode(bytes);
      return `avro (schema id ${schemaId}): ${JSON.stringify(value, jsonSafe, 2)}`;
    } catch (e) {
      avroProblem = ` (not decodable as Avro: ${(e as Error).message})`;
    }
  }
  const text = printableText(bytes);
  if (text !== undefined) return `text${avroProblem}: ${text}`;
  const shown = bytes.subarray(0, HEX_PREVIEW_BYTES);
  const hex = Array.from(shown, (b) => b.toString(16).padStart(2, "0")).join(" ");
  return `hex (${bytes.length} bytes${
    bytes.length > shown.length ? `, first ${shown.length} shown` : ""
  })${avroProblem}: ${hex}`;
}

/** The bytes as UTF-8 text, if they are valid UTF-8 without control characters other than tab and newlines. */
export function printableText(bytes: Uint8Array): string | undefined {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
  // deno-lint-ignore no-control-regex
  return /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text) ? undefined : text;
}

function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) {
    return `0x${Array.from(value, (b) => b.toString(16).padStart(2, "0")).join("")}`;
  }
  if (value && typeof value === "object" && (value as { type?: unknown }).type === "Buffer") {
    return `0x${(value as { data: number[] }).data.map((b) => b.toString(16).padStart(2, "0")).join("")}`;
  }
  return value;
}
