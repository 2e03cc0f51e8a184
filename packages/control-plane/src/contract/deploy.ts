/** `POST /v1/deploy`: the request, its NDJSON progress stream, and the result per API. */
import type { Diagnostic } from "@axon/config";
import type { Money } from "./apis.js";
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

/**
 * `POST /v1/deploy/plan` (issue 30): what `POST /v1/deploy` with the same body would do, without
 * doing it. Made from the same `DeployPlan` the deploy applies, by the target environment's engine.
 */
export interface DeployPreviewResponse {
  /** The environment planned against (`local`, or an AWS environment's name). */
  env: string;
  /** True when any API would be created or updated (`axon deploy --plan` then exits 3). */
  changes: boolean;
  apis: ApiPreview[];
  /** Deprecation notes, as the deploy would say them. */
  warnings: Diagnostic[];
}

/** What a deploy would do to one API of the config. */
export interface ApiPreview {
  api: string;
  kind: string;
  /** `created`, `updated` or `unchanged`, as the deploy's `outcome` would say. */
  outcome: DeployOutcome;
  /** The version it runs now (`v-…` locally, `revision N` on ECS); absent when created. */
  currentVersion?: string;
  /** Whether the deploy records a new version (locally) or registers a task definition (ECS). */
  newVersion: boolean;
  /** Dotted spec fields whose value changes (`autoscaling.max_replicas`), sorted. */
  changedFields: FieldChange[];
  /** True when the project's files (the bundle) differ from the deployed version's. */
  codeChanged: boolean;
  /**
   * `restart`: new replicas replace the running ones (code, environment, predictor, compute …);
   * `keep`: the running replicas carry on (autoscaling limits only); `start`: a new API's replicas
   * start; `none`: nothing changes.
   */
  replicas: "restart" | "keep" | "start" | "none";
  /** Why `replicas` is what it is, in words. */
  replicasReason: string;
  /**
   * The Python environment (local engine): `build` (requirements changed, not built yet),
   * `reuse` (one with these requirements exists), `none` (the base interpreter serves it).
   * Absent on ECS, where each task prepares its own.
   */
  environment?: "build" | "reuse" | "none";
  /** The environment's content key (local), when one is needed. */
  environmentKey?: string;
  /**
   * ECS, `min_replicas: 0`: when the API goes to 0 tasks and what wakes it, in words (issue 31);
   * absent for any other API.
   */
  scaleToZero?: string;
  /** The rollout the deploy would run; absent when replicas do not restart or start. */
  rollout?: RolloutPreview;
  /**
   * ECS: dollars per hour now and after the deploy, at the tasks running now (within the new
   * autoscaling limits), from the same price table as `get` (`AwsApiCost.prices`).
   */
  costPerHour?: { before?: Money; after: Money; prices: string };
}

export interface FieldChange {
  field: string;
  /** The deployed value (absent: not set before). */
  before?: unknown;
  /** The new value (absent: no longer set). */
  after?: unknown;
}

export interface RolloutPreview {
  /** `rolling` (surge / unavailable) or `canary` (ECS). */
  strategy: "rolling" | "canary";
  /** Replicas the rollout brings up. */
  replicas: number;
  /** Rolling: extra replicas it may start above `replicas`, and how many may be unavailable. */
  surge?: number;
  unavailable?: number;
  /** Canary: the share of requests the new version gets while it bakes, and for how long. */
  canaryPercent?: number;
  bakeTime?: string;
  /** The rollout in one sentence. */
  description: string;
}
