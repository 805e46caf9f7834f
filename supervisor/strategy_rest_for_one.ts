/**
 * OTP `rest_for_one`: the failed child and every child started after it are restarted.
 *
 * @module
 */
import type { RestartStrategy } from "./restart_strategy.ts";

/** Restarts the failed child and its younger siblings (which depend on it). */
export const restForOne: RestartStrategy = {
  name: "rest_for_one",
  affected: (order, failed) => {
    const i = order.indexOf(failed);
    return i < 0 ? [failed] : order.slice(i);
  },
};
