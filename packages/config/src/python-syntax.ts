/**
 * Compiles a project's Python files with a given interpreter (without running or importing them)
 * and reports each syntax error as a Diagnostic pinned to the file, line and column, so
 * `axon validate` and `axon deploy` say `predictor.py:8:31: SyntaxError: expected ':'` before a
 * replica ever starts. Shared by the CLI (its interpreter: `AXON_PYTHON` or `python3`, fast
 * feedback) and the daemon (the version's interpreter, authoritative), as the config checks are.
 */
import { spawn } from "node:child_process";
import type { Diagnostic } from "./diagnostics.js";

/** At most this many files are compiled beyond the ones named first (a vendored library is not the user's code). */
export const MAX_CHECKED_PYTHON_FILES = 500;

/** Runs in the interpreter: file names on stdin (JSON), a JSON list of problems on stdout. */
const COMPILE_SCRIPT = `
import json, os, sys, warnings
warnings.simplefilter("ignore")
root = sys.argv[1]
problems = []
for name in json.load(sys.stdin):
    try:
        with open(os.path.join(root, name), "rb") as source:
            compile(source.read(), name, "exec", dont_inherit=True)
    except SyntaxError as error:
        problems.append({"file": name, "line": error.lineno, "column": error.offset,
                         "message": f"{type(error).__name__}: {error.msg}"})
    except (ValueError, OSError) as error:
        problems.append({"file": name, "message": f"{type(error).__name__}: {error}"})
json.dump(problems, sys.stdout)
`;

export interface PythonSyntaxCheckOptions {
  /** The interpreter to compile with (its version decides what is valid syntax). */
  python: string;
  /** The project folder; `files` are relative to it. */
  projectDir: string;
  /** The `.py` files to compile, relative to the project, the predictors first. */
  files: readonly string[];
  env?: NodeJS.ProcessEnv;
}

/** What the check found: the problems, or why the interpreter could not be asked. */
export type PythonSyntaxCheck =
  { checked: number; diagnostics: Diagnostic[] } | { unavailable: string };

/**
 * Compiles `files` (the first MAX_CHECKED_PYTHON_FILES of them) with `python`. Never throws: an
 * interpreter that does not run gives `{unavailable}` saying why.
 */
export function checkPythonSyntax(options: PythonSyntaxCheckOptions): Promise<PythonSyntaxCheck> {
  const files = options.files.slice(0, MAX_CHECKED_PYTHON_FILES);
  if (files.length === 0) return Promise.resolve({ checked: 0, diagnostics: [] });
  return new Promise((resolve) => {
    const child = spawn(options.python, ["-I", "-c", COMPILE_SCRIPT, options.projectDir], {
      stdio: ["pipe", "pipe", "pipe"],
      ...(options.env === undefined ? {} : { env: options.env }),
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (text: string) => (stdout += text));
    child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
    child.stdin.on("error", () => {}); // an interpreter that exits at once closes its stdin
    child.on("error", (error) =>
      resolve({ unavailable: `cannot run ${options.python}: ${error.message}` }),
    );
    child.on("close", (code) => {
      if (code !== 0) {
        const last = stderr.trim().split("\n").at(-1) ?? "";
        resolve({
          unavailable: `${options.python} exited with code ${String(code)} ${last}`.trim(),
        });
        return;
      }
      try {
        resolve({ checked: files.length, diagnostics: toDiagnostics(JSON.parse(stdout)) });
      } catch {
        resolve({ unavailable: `${options.python} did not answer the syntax check` });
      }
    });
    child.stdin.end(JSON.stringify(files));
  });
}

function toDiagnostics(problems: unknown): Diagnostic[] {
  if (!Array.isArray(problems)) throw new TypeError("not a list");
  return problems.map((problem: Record<string, unknown>): Diagnostic => {
    const diagnostic: Diagnostic = {
      file: String(problem["file"]),
      path: "",
      message: String(problem["message"]),
    };
    if (typeof problem["line"] === "number") diagnostic.line = problem["line"];
    if (typeof problem["column"] === "number") diagnostic.column = problem["column"];
    return diagnostic;
  });
}
