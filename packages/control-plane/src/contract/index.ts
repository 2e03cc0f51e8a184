/**
 * The control plane's public HTTP contract: request and response shapes of every route, plus how a
 * client finds and authenticates to a running daemon. It is the bottom of the control plane: every
 * folder may import it, and it imports nothing of theirs (only types of `@axon/config`). It is also
 * the only module the CLI may import from the control plane (`@axon/control-plane/api`), types and
 * the constants below by value; `openapi.yaml` in this package describes the same routes.
 *
 * Routes (all JSON unless noted, all under `http://127.0.0.1:<port>`, all but `GET /v1/health`
 * need `Authorization: Bearer <token>`):
 *
 *   GET    /v1/health                  → HealthResponse (no auth; used to probe a daemon)
 *   GET    /v1/info                    → ClusterInfo
 *   HEAD   /v1/bundles/:sha256         → 200 if stored, 404 if not
 *   PUT    /v1/bundles/:sha256         ← body: gzip'd tar of the project (application/gzip) → BundleResponse
 *   POST   /v1/deploy                  ← DeployRequest → DeployResponse
 *   GET    /v1/apis                    → ApiListResponse
 *   GET    /v1/apis/:name?since=1h     → ApiDetail (since: start of the monitoring range)
 *   DELETE /v1/apis/:name              → DeleteResponse
 *   POST   /v1/apis/:name/rollback     ← RollbackRequest → RollbackResponse
 *   POST   /v1/apis/:name/monitor/baseline → BaselineResponse (pins the last hour as drift baseline)
 *   GET    /v1/apis/:name/logs?follow=1&tail=N → text/plain; charset=utf-8, chunked: the API's log
 *                                        lines; with follow the stream stays open until the client
 *                                        disconnects or the API is deleted
 *   GET    /v1/events?api=NAME         → application/x-ndjson, chunked: one EventLine per control-plane
 *                                        event from now on (only NAME's with `api`), until the client
 *                                        disconnects or the daemon stops
 *   POST   /v1/shutdown                → ShutdownResponse; the daemon then stops every replica and exits
 *
 * Every non-2xx response has an ErrorBody.
 */

import type { Diagnostic } from "@axon/config";
import type { ControlPlaneEvent, ControlPlaneEventKind, EventLevel } from "./events.js";

export * from "./events.js";

/** Written by the daemon to `$AXON_HOME/daemon.json` (0600) once it listens. */
export interface DaemonRecord {
  pid: number;
  /** Base URL of the control-plane API, e.g. `http://127.0.0.1:41234`. */
  apiUrl: string;
  /** Base URL of the gateway that serves the APIs, e.g. `http://localhost:8888`. */
  gatewayUrl: string;
  version: string;
  startedAt: string;
  /** The supervisor that restarts this daemon after a crash, when one runs it (decision 0007). */
  supervisorPid?: number;
}

/** File names under `$AXON_HOME`. The token file is created 0600 by the daemon. */
export const DAEMON_RECORD_FILE = "daemon.json";
export const TOKEN_FILE = "token";
export const DAEMON_LOG_FILE = "daemon.log";
/** The largest JSON request body the API reads (a deploy's config travels in one). */
export const MAX_REQUEST_BYTES = 16 * 1024 * 1024;

/**
 * Trailer of a followed log stream (`GET /v1/apis/:name/logs?follow=1`) that says why it ended:
 * `stopping` (the control plane is stopping) or `deleted` (the API is gone).
 */
export const LOG_STREAM_END_TRAILER = "Axon-Stream-End";
export type LogStreamEnd = "stopping" | "deleted";

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

export interface HealthResponse {
  ok: true;
  version: string;
  pid: number;
}

/** Which interpreter runs predictors locally, and where that choice came from. */
export type PythonChoice = { path: string; source: "env" | "flag" | "default" };

/** The engine that runs the APIs: the local provider now, ECS later. */
export interface EngineInfo {
  /** `local`, or `aws` for an ECS cluster. */
  provider: string;
  /** False when the engine cannot run predictors now; `problem` says why. */
  ready: boolean;
  problem?: string;
  /** Where APIs are served, e.g. `http://localhost:8888`. */
  gatewayUrl: string;
  /** The Python interpreter that runs predictors, and where that choice came from. */
  python: { path: string; version: string | null; source: "env" | "flag" | "default" };
  replicas: number;
  /** Process ids of every Python worker process this engine runs on this machine. */
  workerPids: number[];
}

export interface ClusterInfo extends EngineInfo {
  version: string;
  pid: number;
  home: string;
  apiUrl: string;
  startedAt: string;
  apis: number;
  /** The supervisor that restarts the daemon after a crash (absent under systemd or by hand). */
  supervisorPid?: number;
  /** Disk taken by uploaded bundles and unpacked projects (absent from older daemons). */
  disk?: BundleDiskUse;
}

/** Counted by the periodic clean-up of unused bundles, adjusted by uploads in between. */
export interface BundleDiskUse {
  bundles: number;
  bundleBytes: number;
  projects: number;
  projectBytes: number;
}

export interface BundleResponse {
  sha256: string;
  bytes: number;
}

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

export type ApiStatus = "live" | "updating" | "error" | "unknown";

export interface ReplicaCounts {
  /** Replicas the API should have now. */
  requested: number;
  /** Ready replicas running the current version. */
  upToDate: number;
  /** Ready replicas running an older version. */
  stale: number;
  /** Replicas starting (`__init__` not finished). */
  initializing: number;
  /** Replicas of the current version that crashed and are waiting to restart. */
  failed: number;
}

export interface ApiSummary {
  name: string;
  kind: "RealtimeAPI";
  status: ApiStatus;
  /** Why the status is what it is, when it is not `live` (e.g. the last crash). */
  statusMessage?: string;
  replicas: ReplicaCounts;
  /** ISO time of the last deploy that changed the API. */
  lastUpdated: string;
  /** Full URL, e.g. `http://localhost:8888/iris-classifier`. */
  endpoint: string;
  /** Request metrics since the control plane started; absent when the provider has none. */
  metrics?: ApiMetrics;
}

export interface ApiEvent {
  time: string;
  type: EventLevel;
  /** What happened, as a `ControlPlaneEvent` kind (absent on events recorded before kinds were). */
  kind?: ControlPlaneEventKind;
  message: string;
}

export interface ApiVersion {
  id: string;
  createdAt: string;
  specHash: string;
  bundle: string;
  /** When this version last became fully live (null: never did). */
  liveAt: string | null;
  /** The version the API runs now (the one deployed last, unless it was rolled back). */
  current: boolean;
}

/** One class of a classifier's predictions over the range. */
export interface PredictionClass {
  label: string;
  count: number;
  /** Of the predictions recorded in the range, 0–1. */
  share: number;
}

/** A regressor's predictions over the range; quantiles within the sketch's 1% relative error. */
export interface PredictionStats {
  count: number;
  mean: number;
  min: number;
  max: number;
  p50: number;
  p90: number;
  p99: number;
}

/** What one version of an API answered over the range (`monitoring` configured). */
export interface PredictionSummary {
  versionId: string;
  predictions: number;
  /** Responses without the configured `key`. */
  missingKey: number;
  /** Predictions that were not a class label / not a number (or too long to read). */
  invalid: number;
  /** Classification: classes by count, most first (at most 100; the rest in `other`). */
  classes?: PredictionClass[];
  other?: number;
  /** Regression. */
  stats?: PredictionStats;
}

/** `axon get <api>`'s monitoring: what the API answers, and whether that has shifted. */
export interface ApiMonitoring {
  modelType: "classification" | "regression";
  key: string | null;
  /** ISO start of the range (default: when the current version went live). */
  since: string;
  current: PredictionSummary;
  /** During a rollout, the previous version's mix over the same range, beside the new one's. */
  previous?: PredictionSummary;
  drift: {
    /** `stable (PSI 0.03)`, `shifted: setosa 12% → 41% (PSI 0.31)`, or `collecting a baseline: 340 of 1000 predictions`. */
    message: string;
    psi: number | null;
    shifted: boolean;
    /** `first 1000 predictions of v-…`, or `pinned 2026-12-03T10:00:00Z`. */
    baseline: string;
  };
}

/** What the autoscaler says about an API (local engine; on ECS, Application Auto Scaling's). */
export interface ApiAutoscaling {
  /** API-wide average in-flight requests over `window`, at the last tick. */
  avgInFlight?: number;
  /** What the load asked for at the last tick (after tolerance, factors, min/max). */
  recommendation?: number;
  /** A change held back, e.g. `would scale down to 1; waiting for the 5m0s downscale stabilization, 3m12s left`. */
  pending?: string;
  /** The last change of the requested count. */
  lastScaled?: { at: string; message: string };
}

export interface ApiDetail extends ApiSummary {
  /** The resolved configuration (defaults filled in), as `@axon/config` produces it. */
  spec: Record<string, unknown>;
  /** The resolved configuration rendered as YAML (durations as `1m0s`). */
  specYaml: string;
  exampleCurl: string;
  projectPath?: string;
  /** The Python environment the current version runs in. */
  environment: ApiEnvironment;
  versions: ApiVersion[];
  events: ApiEvent[];
  /** Absent until the autoscaler's first tick, or when the engine scales by itself. */
  autoscaling?: ApiAutoscaling;
  /** How the engine treats the spec's limits (e.g. `compute.cpu 1 is not enforced on this machine…`). */
  notes?: string[];
  /** Present when the API's config has `monitoring` (or Cortex 0.14's `tracker`). */
  monitoring?: ApiMonitoring;
}

export interface ApiEnvironment {
  /** Content key of the built environment, or null when the version runs on the base interpreter. */
  key: string | null;
  /** The interpreter the replicas run. */
  python: string;
  basePython: string;
  baseVersion: string | null;
  /** Whether the environment sees the base interpreter's packages. */
  isolated: boolean;
  /** Number of installed distributions the replicas can import. */
  packages: number;
  /** Installed distributions; `location` says whether the environment or the base provides it. */
  distributions: Array<{ name: string; version: string; location: "environment" | "base" }>;
}

export interface ApiListResponse {
  apis: ApiSummary[];
}

/**
 * One line of `GET /v1/events` (NDJSON): a control-plane event as it happened, with its time and
 * the words every reader shares (`describeEvent`).
 */
export interface EventLine {
  time: string;
  level: EventLevel;
  message: string;
  event: ControlPlaneEvent;
}

export interface BaselineResponse {
  message: string;
  /** Predictions in the pinned baseline. */
  predictions: number;
}

export interface RollbackRequest {
  /** A version id from `ApiDetail.versions`; default: the newest other version that was live. */
  version?: string;
}

export interface RollbackResponse {
  message: string;
  /** The version the API rolls out now. */
  versionId: string;
}

export interface DeleteResponse {
  message: string;
}

export interface ShutdownResponse {
  message: string;
}

/**
 * Request metrics of one API, every replica past and present since the control plane started
 * (what `axon get` shows in its `avg request`, `p99`, `2XX`, `4XX`, `5XX` columns). Latencies are
 * measured by the replica front from admission to response, in milliseconds.
 */
export interface ApiMetrics {
  requests: { "2XX": number; "4XX": number; "5XX": number };
  /** Mean latency; null before the first request. */
  avgLatencyMs: number | null;
  /** 99th percentile latency, interpolated in the latency histogram; null before the first request. */
  p99LatencyMs: number | null;
  /** Requests admitted by the API's replicas and not yet answered, right now. */
  inFlight: number;
}

// ─── Environments and AWS clusters ─────────────────────────────────────────────────────────────
//
//   GET    /v1/environments                 → EnvironmentListResponse
//   POST   /v1/environments                 ← AddEnvironmentRequest → EnvironmentInfo
//   PUT    /v1/environments/default         ← UseEnvironmentRequest → EnvironmentInfo
//   DELETE /v1/environments/:name           → RemoveEnvironmentResponse
//   POST   /v1/clusters/plan                ← ClusterUpRequest → ClusterPlanResponse (nothing created)
//   POST   /v1/clusters                     ← ClusterUpRequest → application/x-ndjson ClusterStreamLine
//   GET    /v1/environments/:name/cluster   → AwsClusterInfo
//   DELETE /v1/environments/:name/cluster   → application/x-ndjson ClusterStreamLine
//
// Routes about APIs (deploy, bundles, apis, logs) act on the environment named by the
// `Axon-Env` request header, else on the default one.

/** Request header naming the environment a command targets (`axon --env NAME`). */
export const ENV_HEADER = "axon-env";

/**
 * Request header of the cluster routes: the calling shell's AWS settings (the variables
 * `isForwardedAwsVariable` in `@axon/config` names), as base64 of a JSON object. The daemon calls
 * AWS with them (credentials, profile, region, endpoints), so a refreshed login in the shell is
 * used at once; without it, the daemon's own AWS chain applies. Never stored.
 */
export const AWS_SETTINGS_HEADER = "axon-aws-settings";

/** The environment that always exists: this machine. */
export const LOCAL_ENVIRONMENT = "local";

export type EnvironmentProvider = "local" | "aws";

/** One environment: `local`, or an AWS cluster (a CloudFormation stack in a region). */
export interface EnvironmentInfo {
  name: string;
  provider: EnvironmentProvider;
  isDefault: boolean;
  region?: string;
  stackName?: string;
  clusterName?: string;
  /** The cluster config the environment was created from, when `cluster up` made it. */
  configFile?: string;
  createdAt?: string;
}

export interface EnvironmentListResponse {
  environments: EnvironmentInfo[];
  defaultEnvironment: string;
}

export interface AddEnvironmentRequest {
  name: string;
  provider: EnvironmentProvider;
  region?: string;
  /** Default `axon-<name>`. */
  stackName?: string;
}

export interface UseEnvironmentRequest {
  name: string;
}

export interface RemoveEnvironmentResponse {
  message: string;
}

export interface ClusterUpRequest {
  /** The YAML text of the cluster config. */
  config: string;
  /** Shown in diagnostics, e.g. `cluster.yaml`. */
  configFileName: string;
  /** The environment to register; default: the cluster's name. */
  env?: string;
}

/** One billable resource of the cluster, in US dollars. */
export interface ClusterCostLine {
  item: string;
  count: number;
  /** `hourly`: billed while it exists; `usage`: only by use (GB, requests); `free`. */
  pricing: "hourly" | "usage" | "free";
  perHour: number;
  perMonth: number;
  note: string;
}

export interface ClusterCostEstimate {
  lines: ClusterCostLine[];
  perHour: number;
  perMonth: number;
  /** Replicas are billed on top, per vCPU-hour and GB-hour. */
  replicaNote: string;
  /** Where the prices come from ("us-east-1 on-demand list prices, 2026; verify …"). */
  assumptions: string;
}

export interface ClusterPlanResponse {
  env: string;
  clusterName: string;
  region: string;
  stackName: string;
  /** The stack's status when it already exists (then `cluster up` creates nothing). */
  existingStatus?: string;
  costs: ClusterCostEstimate;
}

/** An AWS environment's cluster, as `cluster info --env NAME` shows it. */
export interface AwsClusterInfo {
  env: string;
  provider: "aws";
  region: string;
  stackName: string;
  /** CloudFormation's status, or null when the stack does not exist. */
  stackStatus: string | null;
  stackStatusReason?: string;
  clusterName?: string;
  loadBalancerUrl?: string;
  bucket?: string;
  image?: string;
  logGroup?: string;
  apis: number;
}

/** One resource's step while a stack is created or deleted. */
export interface ClusterResourceProgress {
  logicalId: string;
  resourceType: string;
  status: string;
  reason?: string;
}

export interface ClusterUpResponse {
  outcome: "created" | "updated" | "unchanged";
  message: string;
  cluster: AwsClusterInfo;
}

export interface ClusterDownResponse {
  outcome: "deleted" | "absent";
  message: string;
  /** Bundles removed from the bucket before the stack was deleted. */
  objectsDeleted: number;
}

/**
 * `POST /v1/clusters` and `DELETE /v1/environments/:name/cluster` stream one JSON object per line:
 * `resource` and `progress` lines while CloudFormation works, then one `result` or `error`.
 */
export type ClusterStreamLine<Result> =
  | { type: "resource"; resource: ClusterResourceProgress }
  | { type: "progress"; message: string }
  | { type: "result"; result: Result }
  | { type: "error"; status: number; error: ErrorBody };
