/**
 * The daemon's authoritative Python syntax check: before a version is recorded, the project's
 * `.py` files are compiled with the interpreter its replicas will run (the version's environment,
 * or the base interpreter), and a syntax error refuses the deploy as `config.invalid` with one
 * diagnostic per error (`predictor.py:8:31: SyntaxError: expected ':'`), which the CLI shows as it
 * shows config errors. The CLI runs the same check earlier with its own interpreter.
 */
import { readdir } from "node:fs/promises";
import path from "node:path";
import { checkPythonSyntax, MAX_CHECKED_PYTHON_FILES } from "@axon/config";
import { CONFIG_INVALID, DomainError } from "../../errors.js";

/**
 * Compiles the project's Python files with `python`.
 *
 * @throws DomainError `config.invalid` naming each file, line and column that does not compile.
 *   An interpreter that cannot run is not reported here: starting the replica reports it.
 */
export async function assertProjectCompiles(projectDir: string, python: string): Promise<void> {
  const files = await projectPythonFiles(projectDir);
  const result = await checkPythonSyntax({ python, projectDir, files });
  if ("unavailable" in result || result.diagnostics.length === 0) return;
  const names = [...new Set(result.diagnostics.map((diagnostic) => diagnostic.file))];
  throw new DomainError(
    CONFIG_INVALID,
    names.length === 1
      ? `${names[0] as string} does not compile`
      : `${names.length} Python files of the project do not compile`,
    {
      diagnostics: result.diagnostics,
      hint: "fix the lines listed (a file never imported can be listed in .axonignore) and deploy again; what was deployed before keeps running",
    },
  );
}

/**
 * The project's `.py` files, relative and POSIX-style, shallowest first (a predictor usually sits
 * at the top), at most one more than the check compiles.
 */
async function projectPythonFiles(projectDir: string): Promise<string[]> {
  const entries = await readdir(projectDir, { recursive: true, withFileTypes: true });
  const files = entries
    .filter((entry) => entry.isFile() && entry.name.endsWith(".py"))
    .map((entry) => path.relative(projectDir, path.join(entry.parentPath, entry.name)))
    .map((file) => file.split(path.sep).join("/"));
  const depth = (file: string): number => file.split("/").length;
  files.sort((a, b) => depth(a) - depth(b) || (a < b ? -1 : a > b ? 1 : 0));
  return files.slice(0, MAX_CHECKED_PYTHON_FILES + 1);
}
