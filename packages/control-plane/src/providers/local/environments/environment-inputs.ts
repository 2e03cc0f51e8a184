/**
 * What a project's Python environment is made of, and the content key that names it. Reading the
 * inputs and hashing them is pure and cheap, so the daemon can decide "base interpreter or which
 * environment" on every deploy without touching the environment store.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, realpathSync } from "node:fs";
import path from "node:path";

/** The project files that shape an environment, in the order they are applied. */
export type EnvironmentInputFile = "conda-packages.txt" | "dependencies.sh" | "requirements.txt";

/**
 * Everything an environment is built from. Each file's content is `null` when the file is absent,
 * which the key keeps distinct from an empty file.
 */
export interface EnvironmentInputs {
  /** The base interpreter, resolved to a real path when it is a path (see `readEnvironmentInputs`). */
  basePython: string;
  /** The base interpreter's full `sys.version`, so a rebuilt Python of the same path changes the key. */
  baseVersion: string;
  requirements: string | null;
  condaPackages: string | null;
  dependenciesSh: string | null;
  /**
   * Full isolation: the environment does not see the base interpreter's installed packages
   * (`venv` without `--system-site-packages`). The daemon exposes it per cluster as
   * `AXON_ENV_ISOLATED=1`. Off by default so that packages preinstalled in the base interpreter
   * (numpy, scikit-learn from apt, …) satisfy requirements offline.
   */
  isolated: boolean;
}

/** Identifies the key derivation; bump when the way environments are built changes incompatibly. */
const KEY_SCHEME = "axon-env/1";
/** Hex characters of sha256 kept in the key: 128 bits, short enough for paths and `axon get`. */
const KEY_HEX_CHARS = 32;
const KEY_PATTERN = /^[0-9a-f]{32}$/;

/**
 * Reads the three input files of `projectDir` (absent → `null`). `base.python` is resolved to its
 * real path when it contains a slash, so a symlink (`/usr/bin/python3` → `python3.11`) and its
 * target share environments; a bare command name is kept as given (prefer passing the result of
 * `probeBaseInterpreter`, whose `python` is always a real path).
 */
export function readEnvironmentInputs(
  projectDir: string,
  base: { python: string; version: string },
  isolated: boolean,
): EnvironmentInputs {
  return {
    basePython: resolveInterpreterPath(base.python),
    baseVersion: base.version,
    requirements: readOptional(path.join(projectDir, "requirements.txt")),
    condaPackages: readOptional(path.join(projectDir, "conda-packages.txt")),
    dependenciesSh: readOptional(path.join(projectDir, "dependencies.sh")),
    isolated,
  };
}

/**
 * False when the project can run on the base interpreter directly: none of the three files has
 * anything in it but blank lines and `#` comments. Cortex examples often ship an empty
 * `requirements.txt`; building a virtual environment identical to the base for it would cost a
 * deploy seconds for nothing, so an empty or comment-only file counts as absent here (the key still
 * tells them apart when some other file does require an environment).
 */
export function needsEnvironment(inputs: EnvironmentInputs): boolean {
  return [inputs.requirements, inputs.condaPackages, inputs.dependenciesSh].some(hasEntries);
}

/**
 * The environment's content key: the first 128 bits (32 hex characters) of a sha256 over the base
 * interpreter's path and full version, the isolation setting and the three files' contents (with
 * absent and empty kept apart). Equal keys mean interchangeable environments.
 */
export function environmentKey(inputs: EnvironmentInputs): string {
  // A JSON array is an unambiguous encoding: strings are quoted and escaped, null is not "".
  const canonical = JSON.stringify([
    KEY_SCHEME,
    inputs.basePython,
    inputs.baseVersion,
    inputs.isolated,
    inputs.requirements,
    inputs.condaPackages,
    inputs.dependenciesSh,
  ]);
  return createHash("sha256").update(canonical).digest("hex").slice(0, KEY_HEX_CHARS);
}

/** True for strings shaped like an environment key (guards paths built from keys). */
export function isEnvironmentKey(value: string): boolean {
  return KEY_PATTERN.test(value);
}

/** What `probeBaseInterpreter` learned about an interpreter. */
export interface BaseInterpreter {
  /** Real path of the interpreter binary (`sys.executable`, symlinks and pyenv shims resolved). */
  python: string;
  /** Full `sys.version`, e.g. `3.11.7 (main, May  9 2026, 07:35:25) [GCC 12.2.0]`. */
  version: string;
}

/**
 * Runs `python` (a path or a command name on `env.PATH`) once to learn its real executable and full
 * version. Rejects with a message naming the interpreter when it cannot be run.
 */
export function probeBaseInterpreter(
  python: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<BaseInterpreter> {
  const script = "import json, sys; print(json.dumps([sys.executable, sys.version]))";
  return new Promise((resolve, reject) => {
    execFile(python, ["-c", script], { env, timeout: 30_000 }, (error, stdout, stderr) => {
      if (error !== null) {
        const detail = stderr.trim() || error.message;
        reject(
          new Error(`the Python interpreter '${python}' cannot be run: ${detail}`, {
            cause: error,
          }),
        );
        return;
      }
      try {
        const [executable, version] = JSON.parse(stdout) as [string, string];
        resolve({ python: resolveInterpreterPath(executable), version });
      } catch (cause) {
        reject(
          new Error(`the Python interpreter '${python}' printed an unexpected answer: ${stdout}`, {
            cause,
          }),
        );
      }
    });
  });
}

/** `major.minor.micro` from a full `sys.version` string, or null when it does not start with one. */
export function shortPythonVersion(fullVersion: string): string | null {
  return /^(\d+\.\d+\.\d+)/.exec(fullVersion)?.[1] ?? null;
}

function resolveInterpreterPath(python: string): string {
  if (!python.includes("/")) return python;
  try {
    return realpathSync(python);
  } catch {
    return path.resolve(python); // a missing interpreter fails later with a clear message
  }
}

function readOptional(file: string): string | null {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

/** True when `text` has a line that is neither blank nor a `#` comment. */
export function hasEntries(text: string | null): boolean {
  if (text === null) return false;
  return text.split(/\r?\n/).some((line) => {
    const trimmed = line.trim();
    return trimmed !== "" && !trimmed.startsWith("#");
  });
}
