/**
 * Trading sessions of an exchange in its own time zone (e.g. US equities: 09:30–16:00 America/New_York,
 * Monday to Friday), so the stale-feed detector does not call a closed market stale. Holidays are not
 * modelled: a holiday looks like a stale feed at the open (documented in docs/agents.md).
 *
 * @module
 */
import { z } from "zod";

/** A weekly session: local opening and closing time on the given ISO weekdays (1 = Monday … 7 = Sunday). */
export const MarketHours = z.object({
  timeZone: z.string().min(1).refine((tz) => {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  }, "unknown IANA time zone"),
  open: z.string().regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, "expected HH:MM"),
  close: z.string().regex(/^([01][0-9]|2[0-4]):[0-5][0-9]$/, "expected HH:MM"),
  days: z.array(z.number().int().min(1).max(7)).min(1).default([1, 2, 3, 4, 5]),
}).strict();

/** A validated session. */
export type MarketHours = z.infer<typeof MarketHours>;

/** Named sessions usable instead of an object. */
export const MARKET_HOURS_PRESETS: Readonly<Record<string, MarketHours>> = {
  "us-equities": { timeZone: "America/New_York", open: "09:30", close: "16:00", days: [1, 2, 3, 4, 5] },
};

const formatters = new Map<string, Intl.DateTimeFormat>();
const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

function local(ts: number, timeZone: string): { day: number; minute: number; msInMinute: number } {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      weekday: "short",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    });
    formatters.set(timeZone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(ts).map((p) => [p.type, p.value]));
  return {
    day: WEEKDAYS[parts.weekday!]!,
    minute: Number(parts.hour) * 60 + Number(parts.minute),
    msInMinute: ((ts % 60_000) + 60_000) % 60_000,
  };
}

const toMinute = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Whether the market is open at `ts`. */
export function isOpen(hours: MarketHours, ts: number): boolean {
  const { day, minute } = local(ts, hours.timeZone);
  return hours.days.includes(day) && minute >= toMinute(hours.open) && minute < toMinute(hours.close);
}

/**
 * The instant at which `thresholdMs` of open-market time has passed since `from`: the feed of a series last
 * seen at `from` becomes stale then. Closed time (nights, weekends) does not count. Searched minute by minute
 * across at most 8 days (past that the session is treated as never open and `Infinity` is returned).
 */
export function staleInstant(hours: MarketHours | null, from: number, thresholdMs: number): number {
  if (hours === null) return from + thresholdMs;
  let t = from;
  let left = thresholdMs;
  const limit = from + 8 * 86_400_000;
  while (t < limit) {
    const { msInMinute } = local(t, hours.timeZone);
    const minuteEnd = t - msInMinute + 60_000;
    if (isOpen(hours, t)) {
      if (t + left <= minuteEnd) return t + left;
      left -= minuteEnd - t;
    }
    t = minuteEnd;
  }
  return Infinity;
}
