/**
 * The base Python interpreter of the local provider: the one named by `--python`, `AXON_PYTHON` or
 * the default `python3`, resolved on PATH to a real path and probed for its full version (both are
 * part of every environment's key). An interpreter that cannot run is not fatal: the daemon starts,
 * says why, and deploys fail naming the fix.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import type { PythonChoice } from "../../contract/index.js";
import { probeBaseInterpreter } from "./environments/index.js";

export type { PythonChoice };

export interface LocalPython {
  choice: PythonChoice;
  /** Real path (or the name as given when it cannot be found). */
  path: string;
  /** Full version; null when the interpreter cannot be run. */
  version: string | null;
  /** Why it cannot be run, when it cannot. */
  problem: string | undefined;
}

export async function resolveBaseInterpreter(choice: PythonChoice): Promise<LocalPython> {
  const resolved = resolveExecutable(choice.path) ?? choice.path;
  try {
    const probed = await probeBaseInterpreter(resolved);
    return { choice, path: probed.python, version: probed.version, problem: undefined };
  } catch (error) {
    return {
      choice,
      path: resolved,
      version: null,
      problem:
        `cannot run the Python interpreter ${choice.path} (${error instanceof Error ? error.message : String(error)}); ` +
        "predictors will fail to start until AXON_PYTHON or --python names a working python3",
    };
  }
}

function resolveExecutable(command: string): string | undefined {
  if (command.includes("/")) return path.resolve(command);
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (dir === "") continue;
    const candidate = path.join(dir, command);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}
