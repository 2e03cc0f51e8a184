/**
 * The resolved API: what `parseApiConfig` returns and what the control plane stores, hashes and
 * shows. Keys mirror the YAML (snake_case) so a spec reads like the file that produced it; every
 * default is filled in; values are JSON-serialisable and canonical, so equal configs produce equal
 * specs (and equal `specHash`es) whatever spelling the user chose.
 */

/** A fully resolved RealtimeAPI. */
export interface ApiSpec {
  name: string;
  /** Legacy spellings (`SyncAPI`, no kind) resolve to RealtimeAPI. */
  kind: "RealtimeAPI";
  predictor: PredictorSpec;
  compute: ComputeSpec;
  autoscaling: AutoscalingSpec;
  update_strategy: UpdateStrategySpec;
  networking: NetworkingSpec;
  /** Recorded for Cortex compatibility; `null` when absent. */
  monitoring: MonitoringSpec | null;
}

export interface PredictorSpec {
  type: "python";
  /** Project-relative POSIX path of the file defining `PythonPredictor` (normalised, no `./`). */
  path: string;
  processes_per_replica: number;
  threads_per_process: number;
  /** Passed to `PythonPredictor.__init__`; `{}` when absent or null. */
  config: Record<string, unknown>;
  /** Project-relative folder added to PYTHONPATH; `null` means the project root. */
  python_path: string | null;
  /** Accepted for Cortex compatibility; the local provider ignores it. */
  image: string | null;
  env: Record<string, string>;
  server_side_batching: ServerSideBatchingSpec | null;
  /**
   * Axon extension: per-request timeout as a Go duration (e.g. `30s`); absent means the
   * replica's default of 60s. Only present when the config sets it, so specs (and their hashes)
   * without it are unchanged.
   */
  timeout?: string;
  /**
   * Axon extension: the request each new replica sends to its own predictor before it reports
   * ready. Only present when the config sets it, so specs (and their hashes) without it are unchanged.
   */
  smoke_test?: SmokeTestSpec;
}

export interface SmokeTestSpec {
  /** Project-relative POSIX path of a JSON file: the request body. */
  payload: string;
  expect_status: number;
  /** A subset the answer must contain (absent: the status alone decides). */
  expect_json?: unknown;
}

/** A request's timeout when the predictor sets none (`predictor.timeout`, an Axon extension). */
export const DEFAULT_PREDICTOR_TIMEOUT_MS = 60_000;
/** The longest `predictor.timeout` a config may set. */
export const MAX_PREDICTOR_TIMEOUT_MS = 24 * 60 * 60_000;

export interface ServerSideBatchingSpec {
  max_batch_size: number;
  /** Go duration string, e.g. `100ms`. */
  batch_interval: string;
}

export interface ComputeSpec {
  /** Kubernetes quantity as the user wrote it (numbers become strings), e.g. `200m`, `1`. */
  cpu: string;
  gpu: number;
  inf: number;
  /** Kubernetes quantity as the user wrote it, or `null` for no reservation. */
  mem: string | null;
}

export interface AutoscalingSpec {
  min_replicas: number;
  max_replicas: number;
  init_replicas: number;
  target_replica_concurrency: number;
  max_replica_concurrency: number;
  /** Durations are Go `Duration.String()` text, e.g. `1m0s`; read them with `parseDuration`. */
  window: string;
  downscale_stabilization_period: string;
  upscale_stabilization_period: string;
  max_downscale_factor: number;
  max_upscale_factor: number;
  downscale_tolerance: number;
  upscale_tolerance: number;
  /**
   * Axon extension, only with `min_replicas: 0` (absent otherwise, so other specs and their hashes
   * are unchanged): Go duration without requests after which the API scales to zero.
   */
  scale_to_zero_after?: string;
}

/** How long an API with `min_replicas: 0` waits without requests before it scales to zero. */
export const DEFAULT_SCALE_TO_ZERO_AFTER = "15m";

export interface UpdateStrategySpec {
  /** A replica count (`"1"`) or a percentage (`"25%"`). */
  max_surge: string;
  max_unavailable: string;
  /**
   * Axon extension (AWS provider): a canary rollout instead of a rolling one. Only present when the
   * config sets it, so specs (and their hashes) without it are unchanged.
   */
  canary?: CanarySpec;
}

/** A canary rollout: ECS's native CANARY deployment strategy with an alarm-driven rollback. */
export interface CanarySpec {
  /** Percentage of requests the new version receives while it bakes (1–99). */
  traffic_percent: number;
  /** Go duration in whole minutes (`Duration.String()` text, e.g. `10m0s`); ECS bakes in minutes. */
  bake_time: string;
}

/** The longest canary bake ECS accepts (`canaryBakeTimeInMinutes` ≤ 1440). */
export const MAX_CANARY_BAKE_MS = 24 * 60 * 60_000;

export interface NetworkingSpec {
  /** Canonical URL path: leading `/`, no trailing `/`, e.g. `/iris-classifier`. */
  endpoint: string;
  local_port: number | null;
  api_gateway: "public" | "none";
  /**
   * `api_key`: the replica front admits only requests with a key of the API (docs/security.md).
   * Versions stored before this field existed have none: read anything but `api_key` as `none`.
   */
  auth: "none" | "api_key";
}

export interface MonitoringSpec {
  model_type: "classification" | "regression" | null;
  key: string | null;
}

/**
 * A resolved Cortex 0.20 BatchAPI (issue 32): a predictor that runs submitted jobs, one batch at a
 * time per worker, and has no replica between jobs — so no autoscaling, update strategy or
 * monitoring. Its predictor is a `PredictorSpec` with one process of one thread (Cortex's rule),
 * so its workers start exactly as a realtime replica's do.
 */
export interface BatchApiSpec {
  name: string;
  kind: "BatchAPI";
  /** `processes_per_replica` and `threads_per_process` are 1; no batching, timeout or smoke test. */
  predictor: PredictorSpec;
  /** What each worker of a job reserves (its memory is the worker's cgroup limit locally). */
  compute: ComputeSpec;
  networking: BatchNetworkingSpec;
}

export interface BatchNetworkingSpec {
  /** Canonical URL path (default `/<name>`): `POST` submits a job, `GET <endpoint>/<job_id>` reads it. */
  endpoint: string;
  /** Accepted for Cortex compatibility. */
  api_gateway: "public" | "none";
}

/**
 * A resolved Cortex 0.20 TrafficSplitter: an endpoint of its own whose requests go to the named
 * APIs of the same environment in proportion to their weights (which total 100).
 */
export interface TrafficSplitterSpec {
  name: string;
  kind: "TrafficSplitter";
  /** Canonical URL path (default `/<name>`), as `networking.endpoint` of an API. */
  endpoint: string;
  /** The backends in the order the file lists them; a weight of 0 keeps an API in but idle. */
  apis: TrafficSplitterBackend[];
}

export interface TrafficSplitterBackend {
  /** A RealtimeAPI of the same environment. */
  name: string;
  /** Integer percentage of the splitter's requests, in [0, 100]. */
  weight: number;
}

/** ELBv2 forwards one listener rule to at most 5 target groups, so a splitter holds at most 5 APIs. */
export const MAX_SPLITTER_APIS_ON_ECS = 5;
