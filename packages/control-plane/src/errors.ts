/**
 * Domain errors that cross the HTTP boundary. Each has a stable, namespaced code and an HTTP status;
 * `toErrorBody` is the one place that turns any thrown value into the wire shape.
 */
import type { Diagnostic, ErrorBody } from "./contract/index.js";

export interface DomainErrorOptions {
  status?: number;
  hint?: string;
  diagnostics?: Diagnostic[];
  cause?: unknown;
}

/** An expected failure caused by the request or the world, with text a user can act on. */
export class DomainError extends Error {
  readonly code: string;
  readonly status: number;
  readonly hint: string | undefined;
  readonly diagnostics: Diagnostic[] | undefined;

  constructor(code: string, message: string, options: DomainErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = "DomainError";
    this.code = code;
    this.status = options.status ?? 400;
    this.hint = options.hint;
    this.diagnostics = options.diagnostics;
  }
}

/** A request the API cannot read (a missing field, a malformed header or query); 400. */
export const REQUEST_INVALID = "request.invalid";

/** A command line the daemon cannot read (a malformed flag value); the process exits with usage. */
export const USAGE_ERROR = "usage";

/** The config is not a valid API configuration; `diagnostics` say where (400). */
export const CONFIG_INVALID = "config.invalid";

/** No API of that name in the target environment (404). */
export const API_NOT_FOUND = "api.not_found";

/** No version to roll back to, or not the one named (both engines). */
export const ROLLBACK_NO_VERSION = "rollback.no_version";

/** The API has no `monitoring` to pin a baseline for (both engines). */
export const MONITORING_OFF = "monitoring.off";

/** Nothing to pin: no prediction in the last hour (both engines). */
export const MONITORING_NO_PREDICTIONS = "monitoring.no_predictions";

/** No job of that id for that BatchAPI (404, both engines). */
export const JOB_NOT_FOUND = "job.not_found";

/** A batch verb (submit, a job's get/logs/delete) named a RealtimeAPI (400, both engines). */
export const API_NOT_BATCH = "api.not_batch";

/** A job submission that cannot run: the message names the field and its bound (400, both engines). */
export const JOB_INVALID = "job.invalid";

/** An unexpected error: a bug or a broken dependency, logged with its request id (500). */
export const INTERNAL = "internal";

/** Maps anything thrown by a route to a status and an ErrorBody; unexpected errors become 500. */
export function toErrorBody(error: unknown): { status: number; body: ErrorBody } {
  if (error instanceof DomainError) {
    const body: ErrorBody = { code: error.code, message: error.message };
    if (error.hint !== undefined) body.hint = error.hint;
    if (error.diagnostics !== undefined) body.diagnostics = error.diagnostics;
    return { status: error.status, body };
  }
  const message = error instanceof Error ? error.message : String(error);
  return {
    status: 500,
    body: {
      code: INTERNAL,
      message: `the control plane hit an unexpected error: ${message}`,
      hint: "see daemon.log under $AXON_HOME for details",
    },
  };
}
