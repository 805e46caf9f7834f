/**
 * Zod schemas of Twelve Data payloads (REST and websocket). REST numbers arrive as strings and are
 * parsed here; the websocket's `price` is a number.
 *
 * @module
 */
import { z } from "zod";

/** A number, or a string holding one (`"190.25"`); anything else is an issue naming the value. */
export const numeric = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const n = typeof value === "number" ? value : value.trim() === "" ? NaN : Number(value);
  if (!Number.isFinite(n)) {
    ctx.addIssue({ code: "custom", message: "expected a number or numeric string", input: value });
    return z.NEVER;
  }
  return n;
});

/** One `time_series` value. */
export const timeSeriesValue = z.object({
  datetime: z.string().regex(/^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}(:\d{2})?)?$/),
  open: numeric,
  high: numeric,
  low: numeric,
  close: numeric,
  volume: numeric.optional(),
});

/** The `time_series` envelope (values validated one by one). */
export const timeSeriesResponse = z.object({
  meta: z.object({ symbol: z.string(), interval: z.string(), exchange: z.string().optional() }),
  values: z.array(z.unknown()),
  status: z.literal("ok").optional(),
});

/** The `quote` response (the fields we use). */
export const quoteResponse = z.object({
  symbol: z.string(),
  exchange: z.string().optional(),
  timestamp: z.number().int().optional(),
  datetime: z.string().optional(),
  close: numeric,
  volume: numeric.optional(),
});

/** The `price` response. */
export const priceResponse = z.object({ price: numeric });

/** Websocket `price` event. */
export const priceEvent = z.object({
  event: z.literal("price"),
  symbol: z.string(),
  exchange: z.string().optional(),
  timestamp: z.number(),
  price: z.number(),
  bid: z.number().optional(),
  ask: z.number().optional(),
  day_volume: z.number().optional(),
});

/** Websocket `subscribe-status` event. */
export const subscribeStatusEvent = z.object({
  event: z.literal("subscribe-status"),
  status: z.enum(["ok", "warning", "error"]),
  success: z.array(z.object({ symbol: z.string() }).passthrough()).nullable().optional(),
  fails: z.array(z.object({ symbol: z.string(), message: z.string().optional() }).passthrough()).nullable()
    .optional(),
});

/** Any websocket event: `event` plus free-form fields. */
export const anyEvent = z.object({ event: z.string() }).passthrough();

/**
 * Parses Twelve Data's `datetime` (`2024-01-02 15:04:00` or `2024-01-02`) as UTC (requests ask for
 * `timezone=UTC`).
 *
 * @param datetime the string
 * @returns ms since the epoch
 */
export function parseUtcDatetime(datetime: string): number {
  return Date.parse(`${datetime.length === 10 ? `${datetime} 00:00:00` : datetime}Z`.replace(" ", "T"));
}
