/**
 * The {@linkcode ChatClient} an LLM setting describes: the endpoint, optionally through a cassette
 * (`cassette.mode: record` appends every exchange to `cassette.path`; `replay` answers from it, with no network).
 *
 * @module
 */
import { type ChatClient, openAiChatClient } from "./chat_client.ts";
import { recordingChatClient, replayingChatClient } from "./cassette.ts";
import type { LlmMetrics } from "./llm_metrics.ts";

/** What `connections.llm` (or the analyst's config) says about the endpoint. */
export interface LlmSettings {
  baseUrl: string;
  apiKey?: string | undefined;
  model: string;
  timeoutMs: number;
  attempts: number;
  breaker: { failureThreshold: number; openMs: number };
  cassette?: { mode: "record" | "replay"; path: string; strict: boolean } | undefined;
}

/**
 * Builds the client.
 *
 * @param settings endpoint and cassette
 * @param metrics where the client's metrics go
 * @returns the client
 */
export function chatClientFor(settings: LlmSettings, metrics?: LlmMetrics): ChatClient {
  const cassette = settings.cassette;
  if (cassette?.mode === "replay") {
    const replay = replayingChatClient(cassette.path, { strict: cassette.strict });
    return {
      model: settings.model,
      complete: async (request) => await (await replay).complete(request),
    };
  }
  const client = openAiChatClient({
    baseUrl: settings.baseUrl,
    ...(settings.apiKey ? { apiKey: settings.apiKey } : {}),
    model: settings.model,
    timeoutMs: settings.timeoutMs,
    attempts: settings.attempts,
    breaker: settings.breaker,
    ...(metrics ? { metrics } : {}),
  });
  return cassette?.mode === "record" ? recordingChatClient(client, cassette.path) : client;
}
