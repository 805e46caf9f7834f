/**
 * The strategy interface: which children restart when one fails. Strategies are interchangeable values.
 *
 * @module
 */

/** Decides the set of children to restart after `failed` exited and must be restarted. */
export interface RestartStrategy {
  /** Name shown in the tree JSON. */
  readonly name: string;
  /**
   * @param order Child ids in start order.
   * @param failed The child that exited.
   * @returns The ids to restart, in start order; the others among them are stopped first, in reverse order.
   */
  affected(order: readonly string[], failed: string): string[];
}
