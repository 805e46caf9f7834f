/**
 * Regenerates `sample_ticks.jsonl`: 300 ticks of the synthetic market with seed 7 at 10 ticks/s from
 * 2024-01-02T15:00:00Z. Run with `deno run -A actors/sources/_gen_sample_ticks.ts`.
 *
 * @module
 */
import { SyntheticMarket } from "./synthetic_market.ts";

/** The options the sample was generated with (the replay test checks the file still matches them). */
export const SAMPLE_OPTIONS = {
  seed: 7,
  ratePerSecond: 10,
  startTs: Date.UTC(2024, 0, 2, 15),
  maxTicks: 300,
};

/**
 * The sample's text.
 *
 * @returns JSON Lines, one tick per line
 */
export function sampleText(): string {
  const market = new SyntheticMarket(SAMPLE_OPTIONS);
  const lines: string[] = [];
  for (let i = 0; i < SAMPLE_OPTIONS.maxTicks; i++) lines.push(JSON.stringify(market.next()));
  return lines.join("\n") + "\n";
}

if (import.meta.main) {
  await Deno.writeTextFile(new URL("./sample_ticks.jsonl", import.meta.url), sampleText());
}
