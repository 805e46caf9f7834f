/**
 * The typed error raised when a pipeline configuration cannot be loaded.
 *
 * @module
 */

/** One problem found in a configuration file: where, and what was wrong. */
export interface ConfigProblem {
  /** Dotted path to the field, e.g. `topics.market.ticks.partitions` (`(root)` for the whole file). */
  readonly path: string;
  /** What was expected and what was found, e.g. `expected number, received string`. */
  readonly message: string;
}

/**
 * Raised by {@link loadConfig} when the file is missing, is not valid YAML, references an unset
 * environment variable, or does not match the schema. Never retriable: the file must be fixed.
 *
 * The message lists every problem as `<path>: <problem>` under the file name, so it can be printed as is.
 *
 * @example
 * ```ts
 * try {
 *   await loadConfig({ path: "pipeline.yaml" });
 * } catch (e) {
 *   if (e instanceof ConfigError) console.error(e.message); // "Invalid configuration in pipeline.yaml: ..."
 * }
 * ```
 */
export class ConfigError extends Error {
  /** The configuration file that was being loaded. */
  readonly file: string;
  /** Every problem found, in document order. */
  readonly problems: readonly ConfigProblem[];
  /** Always false: re-reading the same file gives the same result. */
  readonly retriable = false;

  /**
   * @param file the configuration file
   * @param problems the problems found (at least one)
   * @param options standard error options (`cause`)
   */
  constructor(file: string, problems: readonly ConfigProblem[], options?: ErrorOptions) {
    const lines = problems.map((p) => `  - ${p.path}: ${p.message}`);
    super(`Invalid configuration in ${file}:\n${lines.join("\n")}`, options);
    this.name = "ConfigError";
    this.file = file;
    this.problems = problems;
  }
}
