/**
 * Loading `pipeline.yaml`: read, parse YAML, resolve secret files, interpolate `${ENV}`, apply environment
 * shortcuts, validate. Every failure is one {@link ConfigError} listing all problems with their field paths.
 *
 * @module
 */
import { parseDocument } from "yaml";
import type { z } from "zod";
import { ConfigError, type ConfigProblem } from "./config_error.ts";
import { applyEnvOverrides, ENV_OVERRIDES } from "./config_env_overrides.ts";
import { interpolateEnv } from "./config_interpolate.ts";
import { type Config, configSchema } from "./config_schema.ts";
import { formatConfigPath } from "./_config_path.ts";

/** The default configuration file, relative to the working directory. */
export const DEFAULT_CONFIG_FILE = "pipeline.yaml";

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** The file to load (`--config`); else `QISTREAM_CONFIG`; else {@link DEFAULT_CONFIG_FILE}. */
  path?: string;
  /** Environment lookup; defaults to `Deno.env.get`. Tests pass a map. */
  env?: (name: string) => string | undefined;
  /** Further checks; see {@link ParseConfigOptions.check}. */
  check?: ConfigCheck;
}

/** Options of {@link parseConfig}. */
export interface ParseConfigOptions {
  /** The file name shown in errors, and the base for relative secret files. */
  file?: string;
  /** Environment lookup; defaults to `Deno.env.get`. */
  env?: (name: string) => string | undefined;
  /** Further checks (e.g. every agent's config against its kind); their problems join the one report. */
  check?: ConfigCheck;
}

/**
 * A check beyond the schema, run on every load: given the file's value (after interpolation and environment
 * shortcuts) and, when the schema accepted it, the validated config, it returns the problems it finds. It runs
 * even when the schema found problems (with `config` undefined), so one report lists everything.
 */
export type ConfigCheck = (raw: Record<string, unknown>, config: Config | undefined) => ConfigProblem[];

/** A validated configuration and where it came from. */
export interface LoadedConfig {
  /** The configuration, with every default filled in. */
  readonly config: Config;
  /** The file it was read from (as given; `<inline>` for {@link parseConfig} without a file). */
  readonly file: string;
  /** Environment shortcuts that overrode the file, e.g. `["KAFKA_BROKERS"]`. */
  readonly envOverrides: readonly string[];
}

/** Field names that hold secrets: they must come from `${ENV}`, an environment shortcut, or `<name>File`. */
export const SECRET_FIELDS: ReadonlySet<string> = new Set(["password", "readPassword", "apiKey", "token"]);

/**
 * Loads and validates the configuration file.
 *
 * @param options which file and which environment
 * @returns the validated configuration, the file name and the environment overrides applied
 * @throws {ConfigError} when the file is missing, unreadable, not YAML, or invalid — message lists `path: problem`
 *
 * @example
 * ```ts
 * const { config } = await loadConfig({ path: "pipeline.yaml" });
 * console.log(config.node.http.port); // 8080
 * ```
 */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const env = options.env ?? ((name: string) => Deno.env.get(name));
  const file = options.path ?? nonEmpty(env("QISTREAM_CONFIG")) ?? DEFAULT_CONFIG_FILE;
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (cause) {
    const why = cause instanceof Deno.errors.NotFound
      ? "file not found"
      : `cannot read file: ${String(cause)}`;
    throw new ConfigError(file, [{ path: "(file)", message: why }], { cause });
  }
  return parseConfig(text, { file, env, check: options.check });
}

/**
 * Parses and validates configuration text (the part of {@link loadConfig} after reading the file).
 *
 * @param text YAML text; empty text is valid and yields all defaults
 * @param options file name for messages and secret files, and the environment
 * @returns the validated configuration
 * @throws {ConfigError} listing every problem with its field path
 */
export function parseConfig(text: string, options: ParseConfigOptions = {}): LoadedConfig {
  const file = options.file ?? "<inline>";
  const env = options.env ?? ((name: string) => Deno.env.get(name));

  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => ({
        path: e.linePos ? `(line ${e.linePos[0].line}, column ${e.linePos[0].col})` : "(yaml)",
        message: e.message.split("\n")[0]!,
      })),
    );
  }
  let raw: unknown = doc.toJS() ?? {};
  if (typeof raw !== "object" || Array.isArray(raw)) {
    throw new ConfigError(file, [{
      path: "(root)",
      message: `expected a mapping, received ${describe(raw)}`,
    }]);
  }

  const interpolation = interpolateEnv(raw, env);
  const problems: ConfigProblem[] = [...interpolation.problems];
  raw = interpolation.value;

  const fromFiles = new Set<string>();
  raw = resolveSecretFiles(raw, [], file, problems, fromFiles);
  checkLiteralSecrets(raw, [], interpolation.interpolated, fromFiles, problems);
  if (problems.length > 0) throw new ConfigError(file, problems);

  const overridden = applyEnvOverrides(raw, env);
  const parsed = configSchema.safeParse(overridden.value, { reportInput: true });
  const fromEnv = new Map(
    ENV_OVERRIDES.filter((o) => overridden.applied.includes(o.variable)).map((
      o,
    ) => [formatConfigPath(o.path), o]),
  );
  const found = [
    ...(parsed.success ? [] : parsed.error.issues.flatMap(describeIssue)),
    ...(options.check?.(overridden.value as Record<string, unknown>, parsed.data) ?? []),
  ].map((p) => {
    const override = fromEnv.get(p.path);
    return override ? { path: p.path, message: `${p.message} (set by ${override.variable})` } : p;
  });
  if (found.length > 0) throw new ConfigError(file, found);
  const config = parsed.data!;
  for (const [id, agent] of Object.entries(config.agents)) {
    if (agent.subscribe && agent.subscribe.group === undefined) agent.subscribe.group = id;
  }
  return { config, file, envOverrides: overridden.applied };
}

/**
 * Config problems from a zod validation of one part of the file (e.g. an agent's own `config`, validated by the
 * agent's schema at start), with paths prefixed by where that part sits in the file.
 *
 * @example
 * ```ts
 * const parsed = spec.config.safeParse(raw);
 * if (!parsed.success) throw new ConfigError(file, zodProblems(parsed.error.issues, ["agents", id, "config"]));
 * ```
 */
export function zodProblems(issues: readonly z.core.$ZodIssue[], prefix: PropertyKey[]): ConfigProblem[] {
  return issues.flatMap((issue) =>
    describeIssue({ ...issue, path: [...prefix, ...issue.path] } as z.core.$ZodIssue)
  );
}

/** Replaces `<secret>File: path` by `<secret>: <file contents, trimmed>`. */
function resolveSecretFiles(
  value: unknown,
  path: PropertyKey[],
  configFile: string,
  problems: ConfigProblem[],
  fromFiles: Set<string>,
): unknown {
  if (Array.isArray(value)) {
    return value.map((v, i) => resolveSecretFiles(v, [...path, i], configFile, problems, fromFiles));
  }
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const secret = key.endsWith("File") ? key.slice(0, -4) : undefined;
    if (secret === undefined || !SECRET_FIELDS.has(secret)) {
      out[key] = resolveSecretFiles(v, [...path, key], configFile, problems, fromFiles);
      continue;
    }
    const at = formatConfigPath([...path, key]);
    if (secret in value) {
      problems.push({ path: at, message: `set either ${secret} or ${key}, not both` });
      continue;
    }
    if (typeof v !== "string" || v === "") {
      problems.push({ path: at, message: `expected a file path, received ${describe(v)}` });
      continue;
    }
    const target = v.startsWith("/") ? v : `${dirOf(configFile)}/${v}`;
    try {
      out[secret] = Deno.readTextFileSync(target).trim();
      fromFiles.add(formatConfigPath([...path, secret]));
    } catch (cause) {
      problems.push({ path: at, message: `cannot read secret file ${target}: ${(cause as Error).message}` });
    }
  }
  return out;
}

/** Secrets written literally in the file are refused: they belong in the environment or a file. */
function checkLiteralSecrets(
  value: unknown,
  path: PropertyKey[],
  interpolated: Set<string>,
  fromFiles: Set<string>,
  problems: ConfigProblem[],
): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => checkLiteralSecrets(v, [...path, i], interpolated, fromFiles, problems));
    return;
  }
  if (value === null || typeof value !== "object") return;
  for (const [key, v] of Object.entries(value)) {
    const at = formatConfigPath([...path, key]);
    const literal = typeof v === "string" && !interpolated.has(at) && !fromFiles.has(at);
    if (literal && SECRET_FIELDS.has(key) && v !== "") {
      problems.push({
        path: at,
        message:
          `secrets must come from the environment (\${VAR}) or a file (${key}File), found a literal value`,
      });
    } else if (literal && /^[a-z][a-z0-9+.-]*:\/\/[^/@\s:]*:[^/@\s]+@/i.test(v)) {
      problems.push({
        path: at,
        message: "URL contains a literal password; use ${VAR} for the URL or a separate password field",
      });
    } else {
      checkLiteralSecrets(v, [...path, key], interpolated, fromFiles, problems);
    }
  }
}

/** Turns one zod issue into `path: expected X, received Y` problems (one per unknown key). */
function describeIssue(issue: z.core.$ZodIssue): ConfigProblem[] {
  const path = formatConfigPath(issue.path);
  const last = issue.path[issue.path.length - 1];
  const secret = typeof last === "string" && SECRET_FIELDS.has(last);
  const shown = (v: unknown) => (secret ? "a secret value" : JSON.stringify(v));
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((k) => ({ path, message: `unknown key "${k}"` }));
    case "invalid_type":
      return [{
        path,
        message: issue.input === undefined
          ? `required field is missing (expected ${issue.expected})`
          : `expected ${issue.expected}, received ${describe(issue.input)}`,
      }];
    case "invalid_value":
      return [{
        path,
        message: `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}, received ${
          shown(issue.input)
        }`,
      }];
    case "too_small":
    case "too_big":
      return [{ path, message: `${stripPrefix(issue.message)}, received ${shown(issue.input)}` }];
    case "invalid_format":
      // A pattern with its own message ("expected an http(s) URL") says more than "a valid regex".
      if (issue.format === "regex" && !/^Invalid/.test(issue.message)) {
        return [{ path, message: `${issue.message}, received ${shown(issue.input)}` }];
      }
      return [{
        path,
        message: `expected a valid ${issue.format}, received a string that does not parse as one`,
      }];
    case "invalid_key":
      return [{
        path,
        message: `invalid key: ${issue.issues.map((i) => stripPrefix(i.message)).join("; ")}`,
      }];
    case "invalid_union":
      return [{ path, message: `expected one of the allowed shapes, received ${describe(issue.input)}` }];
    default:
      return [{ path, message: stripPrefix(issue.message) }];
  }
}

function stripPrefix(message: string): string {
  return message.replace(/^(Invalid input|Too small|Too big|Invalid [a-zA-Z ]+?): /, "");
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v === "object" ? "object" : typeof v;
}

function dirOf(file: string): string {
  const i = file.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : file.slice(0, i);
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s === "" ? undefined : s;
}
