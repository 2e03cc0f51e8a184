/**
 * The CLI's early Python syntax check: the project's `.py` files (the predictors first) compiled
 * with the interpreter a local cluster would start with (`AXON_PYTHON`, else `python3`), so a
 * syntax error is reported as `predictor.py:8:31: SyntaxError: …` by `axon validate` and before
 * `axon deploy` uploads anything. The daemon checks again with the version's own interpreter.
 */
import { checkPythonSyntax, type ApiSpec, type Diagnostic } from "@axon/config";
import { UserError } from "../errors.js";
import type { BundleFile } from "./bundle.js";

/** Whether the project's Python was compiled, or why not (no interpreter runs here). */
export type PythonSyntaxResult = { checked: number } | { skipped: string };

/**
 * Compiles the project's Python files.
 *
 * @throws UserError listing every syntax error as a diagnostic.
 */
export async function checkProjectPythonSyntax(options: {
  dir: string;
  apis: readonly ApiSpec[];
  files: readonly BundleFile[];
  env: Readonly<Record<string, string | undefined>>;
}): Promise<PythonSyntaxResult> {
  const python = options.env["AXON_PYTHON"] || "python3";
  const predictors = [...new Set(options.apis.map((api) => api.predictor.path))];
  const others = options.files
    .map((file) => file.path)
    .filter((file) => file.endsWith(".py") && !predictors.includes(file));
  const result = await checkPythonSyntax({
    python,
    projectDir: options.dir,
    files: [...predictors.filter((file) => file.endsWith(".py")), ...others],
  });
  if ("unavailable" in result) {
    return {
      skipped: `${result.unavailable} (set AXON_PYTHON to the interpreter that runs predictors)`,
    };
  }
  if (result.diagnostics.length > 0) throw syntaxError(result.diagnostics);
  return { checked: result.checked };
}

function syntaxError(diagnostics: Diagnostic[]): UserError {
  const files = new Set(diagnostics.map((diagnostic) => diagnostic.file));
  const first = diagnostics[0] as Diagnostic;
  return new UserError(
    files.size === 1
      ? `${first.file} does not compile`
      : `${files.size} Python files of the project do not compile`,
    {
      diagnostics,
      hint: "fix the lines listed (a file never imported can be listed in .axonignore) and run the command again",
    },
  );
}
