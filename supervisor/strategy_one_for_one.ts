/**
 * OTP `one_for_one`: only the failed child is restarted.
 *
 * @module
 */
import type { RestartStrategy } from "./restart_strategy.ts";

/** Restarts only the child that failed. */
export const oneForOne: RestartStrategy = {
  name: "one_for_one",
  affected: (_order, failed) => [failed],
};
