/**
 * The problem report every config check produces. The control plane's public API re-exports
 * `Diagnostic`, so diagnostics travel unchanged in `ErrorBody.diagnostics` and
 * `DeployResponse.warnings`.
 */

/** One problem (or deprecation note) in a config file, pinned to a line, column and field path. */
export interface Diagnostic {
  file: string;
  /** 1-based line of the offending key or value, when the file has one. */
  line?: number;
  /** 1-based column. */
  column?: number;
  /**
   * Field path inside the config, e.g. `iris-classifier.autoscaling.min_replicas` or `[0].predictor`
   * (an API is named by its `name`, or by its list index when it has none); `""` for problems with
   * the file as a whole (YAML syntax, not a list).
   */
  path: string;
  message: string;
}

/** Thrown when a config file cannot be used; carries every problem found, not just the first. */
export class ConfigError extends Error {
  /** Stable code for errors that cross HTTP (see `ErrorBody.code`). */
  readonly code = "config.invalid";
  readonly diagnostics: Diagnostic[];

  constructor(diagnostics: Diagnostic[], options?: { cause?: unknown }) {
    super(summarizeDiagnostics(diagnostics), options);
    this.name = "ConfigError";
    this.diagnostics = diagnostics;
  }
}

/** `axon.yaml:12:7: iris.autoscaling.min_replicas: must be …` — the one-line form used in messages. */
export function formatDiagnostic(diagnostic: Diagnostic): string {
  let where = diagnostic.file;
  if (diagnostic.line !== undefined) {
    where += `:${diagnostic.line}`;
    if (diagnostic.column !== undefined) where += `:${diagnostic.column}`;
  }
  return diagnostic.path === ""
    ? `${where}: ${diagnostic.message}`
    : `${where}: ${diagnostic.path}: ${diagnostic.message}`;
}

function summarizeDiagnostics(diagnostics: Diagnostic[]): string {
  const first = diagnostics[0];
  if (first === undefined) return "invalid configuration";
  if (diagnostics.length === 1) return formatDiagnostic(first);
  const lines = diagnostics.map((diagnostic) => `  ${formatDiagnostic(diagnostic)}`);
  return `${first.file}: ${diagnostics.length} problems found:\n${lines.join("\n")}`;
}
