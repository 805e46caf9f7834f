/** Renders a path such as `["topics", "market.ticks", "partitions"]` as `topics.market.ticks.partitions`. */
export function formatConfigPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out === "" ? "(root)" : out;
}
