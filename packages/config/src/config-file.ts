/**
 * Config files on disk: finding `axon.yaml` (or a Cortex `cortex.yaml`) in a project folder and
 * loading one with its project files checked against the folder that holds it.
 */

import { readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { ConfigError } from "./diagnostics.js";
import { parseApiConfig, type ParsedApiConfig } from "./parse-config.js";
import { decodeConfigBytes } from "./yaml-limits.js";

/** Looked up in this order; Cortex names last so an `axon.yaml` next to an old file wins. */
export const CONFIG_FILE_NAMES = ["axon.yaml", "axon.yml", "cortex.yaml", "cortex.yml"] as const;

/** Returns the path of the first config file found in `dir` (see `CONFIG_FILE_NAMES`), if any. */
export function findConfigFile(dir: string): string | undefined {
  return CONFIG_FILE_NAMES.map((name) => join(dir, name)).find((path) => isFile(path));
}

/**
 * Reads, parses and validates a config file. Project paths in it (`predictor.path`,
 * `predictor.python_path`) must exist relative to the file's folder.
 *
 * @param path as the user gave it; diagnostics name the file this way
 * @throws ConfigError when the file cannot be read or is invalid (all problems at once)
 */
export function loadApiConfigFile(path: string): ParsedApiConfig {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message =
      code === "ENOENT"
        ? `config file ${path} does not exist (run axon in the folder that holds axon.yaml, or pass its path)`
        : code === "EISDIR"
          ? `${path} is a folder, not a config file (pass the path of its axon.yaml)`
          : `config file ${path} cannot be read: ${error instanceof Error ? error.message : String(error)}`;
    throw new ConfigError([{ file: path, path: "", message }], { cause: error });
  }
  const projectDir = dirname(resolve(path));
  return parseApiConfig(decodeConfigBytes(bytes, path), path, {
    fileExists: (relativePath) => {
      const absolute = resolve(projectDir, relativePath);
      return relativePath.endsWith("/") ? isDirectory(absolute) : isFile(absolute);
    },
  });
}

function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}

function isDirectory(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}
