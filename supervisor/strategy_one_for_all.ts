/**
 * OTP `one_for_all`: when one child fails, all children are stopped and restarted.
 *
 * @module
 */
import type { RestartStrategy } from "./restart_strategy.ts";

/** Restarts every child (for children that cannot work without each other). */
export const oneForAll: RestartStrategy = {
  name: "one_for_all",
  affected: (order) => [...order],
};
