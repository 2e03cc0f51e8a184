/**
 * Finding and checking an API config on the user's machine. Validation is the same `@axon/spec`
 * code the daemon runs, so a config that passes here only fails there for reasons that need the
 * daemon (an endpoint another API already uses).
 */
import { existsSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import path from "node:path";
import { ConfigError, findConfigFile, parseApiConfig, type ApiSpec } from "@axon/spec";
import type { Diagnostic } from "@axon/control-plane/api";
import { UserError } from "../errors.js";

/** A config file and the project folder it describes (the folder that holds it). */
export interface LocatedConfig {
  /** Absolute path of the config file. */
  file: string;
  /** Absolute path of the project root. */
  dir: string;
  /** The file's name, as diagnostics and the daemon show it (e.g. `axon.yaml`). */
  fileName: string;
}

/** A config that passed validation. */
export interface ValidatedConfig extends LocatedConfig {
  /** The YAML text as the user wrote it (what `POST /v1/deploy` sends). */
  text: string;
  apis: ApiSpec[];
  /** Old Cortex spellings that were mapped, to show as warnings. */
  deprecations: Diagnostic[];
}

/**
 * Resolves `[config-or-dir]`: a file is used as is; a folder (or the working directory when no
 * argument is given) is searched for axon.yaml, axon.yml, cortex.yaml, cortex.yml.
 */
export function locateConfig(argument: string | undefined, cwd: string): LocatedConfig {
  const target = path.resolve(cwd, argument ?? ".");
  if (!existsSync(target)) {
    throw new UserError(`${argument ?? target} does not exist`, {
      hint: "pass the path of an axon.yaml (or cortex.yaml), or of the folder that holds it",
    });
  }
  if (statSync(target).isDirectory()) {
    const found = findConfigFile(target);
    if (found === undefined) {
      throw new UserError(`no axon.yaml or cortex.yaml in ${target}`, {
        hint: "run the command in your project folder, or pass the path of its config file",
      });
    }
    const file = path.resolve(target, found);
    return { file, dir: path.dirname(file), fileName: path.basename(file) };
  }
  return { file: target, dir: path.dirname(target), fileName: path.basename(target) };
}

/**
 * Reads and validates a config, checking that every `predictor.path` exists in the project.
 *
 * @throws UserError listing every diagnostic when the config is invalid.
 */
export async function validateConfig(located: LocatedConfig): Promise<ValidatedConfig> {
  let text: string;
  try {
    text = await readFile(located.file, "utf8");
  } catch (error) {
    throw new UserError(`cannot read ${located.file}`, { cause: error });
  }
  try {
    const parsed = parseApiConfig(text, located.fileName, {
      fileExists: (relative: string) => projectHas(located.dir, relative),
    });
    return { ...located, text, apis: parsed.apis, deprecations: parsed.deprecations };
  } catch (error) {
    if (error instanceof ConfigError) {
      const count = error.diagnostics.length;
      throw new UserError(
        `${located.fileName} is not a valid API configuration (${count} ${count === 1 ? "problem" : "problems"})`,
        {
          diagnostics: error.diagnostics,
          hint: "fix the fields listed and run the command again",
          cause: error,
        },
      );
    }
    throw error;
  }
}

/**
 * Refuses project roots that would upload far more than a project: `/` and the home folder
 * (Cortex refused these too).
 */
export function assertDeployableRoot(
  dir: string,
  env: Readonly<Record<string, string | undefined>>,
): void {
  const home = path.resolve(env["HOME"] ?? homedir());
  const resolved = path.resolve(dir);
  if (resolved === path.parse(resolved).root || resolved === home) {
    throw new UserError(
      `refusing to deploy ${resolved}: it is ${resolved === home ? "your home folder" : "the filesystem root"}, not a project folder`,
      {
        hint: "move the config and predictor into their own folder and deploy from there",
      },
    );
  }
}

/** True when `relative` names an existing file or folder inside `root` (never outside it). */
function projectHas(root: string, relative: string): boolean {
  const full = path.resolve(root, relative);
  if (full !== root && !full.startsWith(root + path.sep)) return false;
  return existsSync(full);
}
