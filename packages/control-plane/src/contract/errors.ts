/** Every non-2xx answer: `ErrorBody`, its diagnostics, and the codes clients may act on. */
import type { Diagnostic } from "@axon/config";

/**
 * The code of the one error an engine answers for a verb it cannot do (yet), status 501: clients
 * may degrade on it (e.g. `get --watch` without live events) instead of failing.
 */
export type EngineNotSupportedCode = "engine.not_supported";

export interface ErrorBody {
  /** Stable, namespaced code, e.g. `config.invalid`, `api.not_found`, `bundle.invalid`. */
  code: string;
  message: string;
  hint?: string;
  /** For `config.invalid`: every problem found, with file/line/column/field path. */
  diagnostics?: Diagnostic[];
}

/** A config problem with file, line, column and field path: the spec package's own type. */
export type { Diagnostic } from "@axon/config";
