/** `POST /v1/deploy`: the request, its NDJSON progress stream, and the result per API. */
import type { Diagnostic } from "@axon/config";
import type { ErrorBody } from "./errors.js";

export interface DeployRequest {
  /** The YAML text of the config file, as the user wrote it. */
  config: string;
  /** File name shown in diagnostics, e.g. `axon.yaml` (relative to the project root). */
  configFileName: string;
  /** sha256 (hex) of a bundle already PUT to /v1/bundles. */
  bundle: string;
  /** Absolute path of the project on the client machine, shown in `get`. */
  projectPath?: string;
  force?: boolean;
  /**
   * The deploying shell's AWS settings (see `isForwardedAwsVariable` in `@axon/config`), forwarded to
   * the APIs' replicas on the local provider. Stored only in a 0600 file; never echoed back. Omit
   * (or send `{}`) to forward nothing.
   */
  credentials?: Record<string, string>;
}

/**
 * With `Accept: application/x-ndjson`, POST /v1/deploy streams one JSON object per line: any number
 * of `progress` lines (environment builds: pip's output), then exactly one `result` or `error`.
 */
export type DeployStreamLine =
  | { type: "progress"; message: string }
  | { type: "result"; result: DeployResponse }
  | { type: "error"; status: number; error: ErrorBody };

export type DeployOutcome = "created" | "updated" | "unchanged";

export interface DeployResult {
  api: string;
  kind: string;
  outcome: DeployOutcome;
  /** Cortex wording: `creating X (RealtimeAPI)`, `updating X (RealtimeAPI)`, `X (RealtimeAPI) is up to date`. */
  message: string;
  endpoint: string;
  /** A curl sending the project's sample payload file; absent when the project folder has none. */
  exampleCurl?: string;
}

export interface DeployResponse {
  results: DeployResult[];
  /** The environment deployed to, when it is not the local one (`axon get --env <env>`). */
  env?: string;
  /** Deprecation notes (old Cortex spellings that were mapped), each once. */
  warnings: Diagnostic[];
}
