/**
 * Loading the pipeline file for a subcommand: the whole file is checked (the schema, then every agent against
 * its kind's spec), and an invalid or missing file is a usage error (exit 2) whose message — every problem with
 * its field path — is printed once, before anything is created.
 *
 * @module
 */
import { ConfigError, loadConfig, type LoadedConfig } from "../core/mod.ts";
import { pipelineConfigCheck } from "../pipeline/pipeline_config_check.ts";
import { EXIT_USAGE } from "./command.ts";

/**
 * Loads and validates the pipeline file. On a {@link ConfigError} it prints the error's message to stderr and
 * returns {@link EXIT_USAGE}; any other error is thrown.
 *
 * @param path the file (the command's `--config`, else the global one; undefined means the default)
 * @returns the loaded configuration, or the exit code to return at once
 * @throws whatever `loadConfig` throws other than a {@link ConfigError}
 *
 * @example
 * ```ts
 * const loaded = await loadCommandConfig(values.config ?? context.config);
 * if (typeof loaded === "number") return loaded;
 * console.log(loaded.config.node.name);
 * ```
 */
export async function loadCommandConfig(path: string | undefined): Promise<LoadedConfig | number> {
  try {
    return await loadConfig({ path, check: await pipelineConfigCheck() });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    console.error(e.message);
    return EXIT_USAGE;
  }
}
