/**
 * Cassettes: LLM exchanges recorded to a JSON Lines file and replayed deterministically — for tests, and to
 * re-run an incident with the answers the model gave. A {@linkcode ChatClient} either way:
 *
 * - {@linkcode recordingChatClient} passes each request to the real client and appends `{request hash,
 *   request, response}` to the file (redacted: the step redacts before it asks);
 * - {@linkcode replayingChatClient} answers request N with recorded response N, without any network; with
 *   `strict` (the default) request N must hash like the recorded one, else it fails naming the exchange and what
 *   differs, so a replay that drifted is seen, never silently answered.
 *
 * @module
 */
import type { ChatClient, ChatRequest, ChatResponse } from "./chat_client.ts";
import { LlmError } from "./llm_error.ts";
import { resultHash } from "./tool_call_record.ts";

/** One recorded exchange (a line of the cassette). */
export interface CassetteEntry {
  n: number;
  requestHash: string;
  request: { messages: unknown[]; tools: string[]; responseFormat?: string };
  response: Omit<ChatResponse, "attempts">;
}

function requestOf(request: ChatRequest): CassetteEntry["request"] {
  return {
    messages: request.messages,
    tools: (request.tools ?? []).map((t) => t.name),
    ...(request.responseFormat ? { responseFormat: request.responseFormat.name } : {}),
  };
}

/**
 * Records every exchange of `inner` to `path` (appending).
 *
 * @param inner the real client
 * @param path the cassette file
 * @returns the recording client
 */
export function recordingChatClient(inner: ChatClient, path: string): ChatClient {
  let n = 0;
  let chain = Promise.resolve();
  return {
    model: inner.model,
    async complete(request) {
      const response = await inner.complete(request);
      const recorded = requestOf(request);
      const { attempts: _attempts, ...rest } = response;
      const entry: CassetteEntry = {
        n: n++,
        requestHash: await resultHash(recorded),
        request: recorded,
        response: rest,
      };
      chain = chain.then(() => Deno.writeTextFile(path, JSON.stringify(entry) + "\n", { append: true }));
      await chain;
      return response;
    },
  };
}

/**
 * Replays a cassette.
 *
 * @param path the cassette file
 * @param options `strict: false` answers in order whatever was asked
 * @returns the replaying client (its model is the recorded one)
 * @throws {LlmError} from `complete` (`bad_request`) when the cassette is used up or a request differs
 */
export async function replayingChatClient(
  path: string,
  options: { strict?: boolean } = {},
): Promise<ChatClient> {
  const entries = (await Deno.readTextFile(path)).split("\n").filter((l) => l.trim() !== "").map(
    (line, i) => {
      try {
        return JSON.parse(line) as CassetteEntry;
      } catch (error) {
        throw new SyntaxError(`Cannot read cassette ${path}: line ${i + 1} is not JSON`, { cause: error });
      }
    },
  );
  const strict = options.strict ?? true;
  let next = 0;
  return {
    model: entries[0]?.response.model ?? "cassette",
    async complete(request) {
      const entry = entries[next];
      if (!entry) {
        throw new LlmError(
          "bad_request",
          `cassette ${path} has ${entries.length} exchanges; request ${next + 1} has none`,
        );
      }
      const asked = requestOf(request);
      if (strict && (await resultHash(asked)) !== entry.requestHash) {
        const i = asked.messages.findIndex((m, k) =>
          JSON.stringify(m) !== JSON.stringify(entry.request.messages[k])
        );
        throw new LlmError(
          "bad_request",
          `cassette ${path}: request ${next + 1} differs from the recording (${
            i >= 0 ? `message ${i + 1}` : "tools or response format"
          }): ${JSON.stringify(asked.messages[i] ?? asked.tools).slice(0, 300)}`,
        );
      }
      next++;
      if (entry.response.content) request.onText?.(entry.response.content);
      return { ...entry.response, attempts: 1 };
    },
  };
}
