import assert from "node:assert/strict";
import { emptyWindow, pushWindow, windowMad, windowMedian } from "./robust_window.ts";
import { SeededRandom } from "../sources/seeded_random.ts";

function naive(values: number[]): { median: number; mad: number } {
  const med = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const n = s.length;
    return n % 2 ? s[n >> 1]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
  };
  const m = med(values);
  return { median: m, mad: med(values.map((x) => Math.abs(x - m))) };
}

Deno.test("robust window: median and MAD match a sort-based reference on every window size, ties included", () => {
  const rng = new SeededRandom(3);
  const w = emptyWindow();
  for (let k = 0; k < 400; k++) {
    const x = k % 7 === 0 ? 1 : Math.round(rng.normal() * 10) / 2; // many ties
    pushWindow(w, x, 25);
    const ref = naive(w.values);
    assert.equal(w.values.length, Math.min(k + 1, 25));
    assert.equal(windowMedian(w), ref.median, `median after ${k + 1}`);
    assert.equal(windowMad(w), ref.mad, `MAD after ${k + 1} of ${JSON.stringify(w.values)}`);
  }
  assert.deepEqual(w.sorted, [...w.values].sort((a, b) => a - b));
});

Deno.test("robust window: refuses a non-finite value (it would corrupt the order)", () => {
  assert.throws(() => pushWindow(emptyWindow(), NaN, 5), /NaN to a robust window/);
});
