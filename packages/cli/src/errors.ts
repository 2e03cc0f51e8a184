/**
 * The CLI's error vocabulary. Commands and services throw these; `main.ts` maps them to output and
 * exit codes in one place, so nothing else calls `process.exit` or prints a stack.
 */
import type { Diagnostic } from "@axon/control-plane/api";

/** Options shared by every error constructor (`cause` keeps the original for `--verbose`). */
export interface UserErrorOptions {
  /** One line telling the user what to do about it. */
  hint?: string;
  /** Concrete follow-up commands or actions, shown as a list. */
  nextSteps?: string[];
  /** Config problems, shown together as `file:line:column: path: message`. */
  diagnostics?: Diagnostic[];
  /** Extra text shown verbatim under the message (e.g. the tail of a log or a response body). */
  details?: string;
  cause?: unknown;
}

/** An expected failure the user can fix: printed as `error: ...` without a stack; exit code 1. */
export class UserError extends Error {
  readonly hint: string | undefined;
  readonly nextSteps: string[];
  readonly diagnostics: Diagnostic[];
  readonly details: string | undefined;

  constructor(message: string, options: UserErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = "UserError";
    this.hint = options.hint;
    this.nextSteps = options.nextSteps ?? [];
    this.diagnostics = options.diagnostics ?? [];
    this.details = options.details;
  }
}

/** A non-2xx answer from the control plane, carrying its stable error code and HTTP status. */
export class ApiError extends UserError {
  readonly code: string;
  readonly status: number;

  constructor(message: string, options: UserErrorOptions & { code: string; status: number }) {
    super(message, options);
    this.name = "ApiError";
    this.code = options.code;
    this.status = options.status;
  }
}

/** Something that should never happen: printed with its stack under `--verbose`; exit code 1. */
export class BugError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "BugError";
  }
}

/** The user declined a confirmation: one line, exit code 1. */
export class CancelledError extends Error {
  constructor(message = "cancelled") {
    super(message);
    this.name = "CancelledError";
  }
}

/**
 * A failure a live view has already shown in full (the failing replica, its log): exit code 1, and
 * nothing more printed, so the terminal does not say it twice.
 */
export class ShownError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ShownError";
  }
}

/** The user pressed Ctrl-C: exit code 130, no message beyond what the command already printed. */
export class InterruptedError extends Error {
  constructor() {
    super("interrupted");
    this.name = "InterruptedError";
  }
}

/** Formats one diagnostic as `file:line:column: path: message` (line/column only when known). */
export function formatDiagnostic(diagnostic: Diagnostic): string {
  let location = diagnostic.file;
  if (diagnostic.line !== undefined) {
    location += `:${diagnostic.line}`;
    if (diagnostic.column !== undefined) location += `:${diagnostic.column}`;
  }
  const path = diagnostic.path === "" ? "" : `${diagnostic.path}: `;
  return `${location}: ${path}${diagnostic.message}`;
}

/**
 * Not a failure: `axon deploy --plan` found changes and has printed them. `main.ts` maps it to its
 * own exit code (`EXIT.changes`, 3), as terraform's `plan -detailed-exitcode` does with 2 — which
 * Axon already gives usage errors — so a script tells "would change" from "failed" and "nothing".
 */
export class ChangesPlanned extends Error {
  constructor(count: number) {
    super(`${count} apis would change`);
    this.name = "ChangesPlanned";
  }
}
