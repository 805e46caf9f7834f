/**
 * Zod schemas of CryptoCompare streaming frames (`TYPE` is a string) and their normalisation into
 * market records: trades (TYPE 0), ticker and aggregate-index deltas merged onto the last snapshot per
 * (market, pair) (TYPE 2 and 5), and OHLC bars (TYPE 24).
 *
 * @module
 */
import { z } from "zod";
import type { Bar, Tick, Trade } from "./market_record.ts";
import { pairSymbol } from "./market_symbol.ts";

const SOURCE = "cryptocompare";
const num = z.number();
const optNum = num.optional();

/** TYPE "0": one trade. `F` is a flags bitmask (1 sell, 2 buy, 4 unknown), sent as a string or number. */
export const tradeFrame = z.object({
  TYPE: z.literal("0"),
  M: z.string(),
  FSYM: z.string(),
  TSYM: z.string(),
  F: z.union([z.string().regex(/^\d+$/), z.number().int()]).optional(),
  ID: z.union([z.string(), z.number()]).optional(),
  TS: num,
  Q: num,
  P: num,
  RTS: optNum,
  CCSEQ: z.number().int().optional(),
});

/** TYPE "2" / "5": ticker or aggregate index; fields other than the keys arrive only when they changed. */
export const tickerFrame = z.object({
  TYPE: z.enum(["2", "5"]),
  MARKET: z.string(),
  FROMSYMBOL: z.string(),
  TOSYMBOL: z.string(),
  FLAGS: optNum,
  PRICE: optNum,
  BID: optNum,
  ASK: optNum,
  LASTUPDATE: optNum,
  VOLUME24HOUR: optNum,
});

/** TYPE "24": an OHLC bar (ACTION A add, U update, I init). */
export const ohlcFrame = z.object({
  TYPE: z.literal("24"),
  MARKET: z.string(),
  FROMSYMBOL: z.string(),
  TOSYMBOL: z.string(),
  TS: num,
  UNIT: z.enum(["m", "H", "D"]),
  ACTION: z.string().optional(),
  OPEN: num,
  HIGH: num,
  LOW: num,
  CLOSE: num,
  VOLUMEFROM: num,
  VOLUMETO: optNum,
  TOTALTRADES: optNum,
});

/** A control frame (welcome, acks, heartbeat, errors): TYPE plus free-form fields. */
export const controlFrame = z.object({ TYPE: z.string(), MESSAGE: z.string().optional() }).passthrough();

/**
 * Normalises a trade frame.
 *
 * @param f a validated TYPE 0 frame
 * @returns market.trade
 */
export function toTrade(f: z.infer<typeof tradeFrame>): Trade {
  const flags = Number(f.F ?? 4);
  return {
    symbol: pairSymbol(f.FSYM, f.TSYM),
    source: SOURCE,
    exchange: f.M,
    ts: Math.round(f.RTS !== undefined && f.RTS > f.TS * 1000 ? f.RTS : f.TS * 1000),
    tradeId: f.ID === undefined ? null : String(f.ID),
    price: f.P,
    size: f.Q,
    side: flags & 1 ? "SELL" : flags & 2 ? "BUY" : "UNKNOWN",
  };
}

/**
 * Normalises an OHLC frame.
 *
 * @param f a validated TYPE 24 frame
 * @returns market.bar
 */
export function toBar(f: z.infer<typeof ohlcFrame>): Bar {
  return {
    symbol: pairSymbol(f.FROMSYMBOL, f.TOSYMBOL),
    source: SOURCE,
    exchange: f.MARKET,
    interval: f.UNIT === "m" ? "1m" : f.UNIT === "H" ? "1h" : "1d",
    ts: f.TS * 1000,
    open: f.OPEN,
    high: f.HIGH,
    low: f.LOW,
    close: f.CLOSE,
    volume: f.VOLUMEFROM,
    trades: f.TOTALTRADES === undefined ? null : Math.round(f.TOTALTRADES),
  };
}

type TickerFields = Omit<z.infer<typeof tickerFrame>, "TYPE" | "MARKET" | "FROMSYMBOL" | "TOSYMBOL">;

/**
 * The last known state of every (TYPE, market, pair) ticker: deltas merge onto it. A delta that arrives
 * before any frame carrying `PRICE` yields no tick.
 */
export class TickerSnapshots {
  readonly #state = new Map<string, TickerFields>();

  /**
   * Merges a frame and returns the resulting tick.
   *
   * @param f a validated TYPE 2/5 frame (full snapshot or delta)
   * @param receivedAt receive time (ms), used as `ts` when the frame carries no `LASTUPDATE`
   * @returns the merged tick, or undefined while no price is known
   */
  merge(f: z.infer<typeof tickerFrame>, receivedAt: number): Tick | undefined {
    const key = `${f.TYPE}~${f.MARKET}~${f.FROMSYMBOL}~${f.TOSYMBOL}`;
    const { TYPE: _t, MARKET: _m, FROMSYMBOL: _f, TOSYMBOL: _s, ...fields } = f;
    const merged = { ...this.#state.get(key) };
    for (const [k, v] of Object.entries(fields)) {
      if (v !== undefined) (merged as Record<string, unknown>)[k] = v;
    }
    this.#state.set(key, merged);
    if (merged.PRICE === undefined) return undefined;
    return {
      symbol: pairSymbol(f.FROMSYMBOL, f.TOSYMBOL),
      source: SOURCE,
      exchange: f.MARKET,
      ts: f.LASTUPDATE !== undefined ? f.LASTUPDATE * 1000 : receivedAt,
      price: merged.PRICE,
      bid: merged.BID ?? null,
      ask: merged.ASK ?? null,
      volume: merged.VOLUME24HOUR ?? null,
    };
  }

  /** Forgets every snapshot (after a reconnect the server sends full snapshots again). */
  clear(): void {
    this.#state.clear();
  }
}
