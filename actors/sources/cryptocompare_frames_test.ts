import assert from "node:assert/strict";
import { tickerFrame, TickerSnapshots, toTrade, tradeFrame } from "./cryptocompare_frames.ts";

const key = { MARKET: "Kraken", FROMSYMBOL: "ETH", TOSYMBOL: "EUR" };

Deno.test("ticker snapshots: a delta before any price yields nothing; snapshots are per type, market and pair", () => {
  const snaps = new TickerSnapshots();
  assert.equal(snaps.merge(tickerFrame.parse({ TYPE: "2", ...key, BID: 1 }), 5), undefined);
  const t = snaps.merge(tickerFrame.parse({ TYPE: "2", ...key, PRICE: 2 }), 7);
  assert.deepEqual([t!.symbol, t!.price, t!.bid, t!.ts, t!.exchange], ["ETH-EUR", 2, 1, 7, "Kraken"]);
  assert.equal(snaps.merge(tickerFrame.parse({ TYPE: "5", ...key, BID: 3 }), 8), undefined);
  snaps.clear();
  assert.equal(snaps.merge(tickerFrame.parse({ TYPE: "2", ...key, ASK: 4 }), 9), undefined);
});

Deno.test("trade flags map to the aggressor side", () => {
  const base = { TYPE: "0", M: "Coinbase", FSYM: "BTC", TSYM: "USD", TS: 1_700_000_000, Q: 1, P: 2 };
  assert.equal(toTrade(tradeFrame.parse({ ...base, F: "1" })).side, "SELL");
  assert.equal(toTrade(tradeFrame.parse({ ...base, F: 2 })).side, "BUY");
  assert.equal(toTrade(tradeFrame.parse({ ...base, F: "4" })).side, "UNKNOWN");
  assert.equal(toTrade(tradeFrame.parse(base)).ts, 1_700_000_000_000);
});
