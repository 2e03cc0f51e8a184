/** The APIs of an environment: list, get (with its engine's runtime section), logs, events, rollback, baseline, delete. */
import type { ApiKeyList } from "./keys.js";
import type { ControlPlaneEvent, ControlPlaneEventKind, EventLevel } from "./events.js";
import type { ApiMonitoring } from "./monitoring.js";

/**
 * Trailer of a followed log stream (`GET /v1/apis/:name/logs?follow=1`) that says why it ended:
 * `stopping` (the control plane is stopping) or `deleted` (the API is gone).
 */
export const LOG_STREAM_END_TRAILER = "Axon-Stream-End";
export type LogStreamEnd = "stopping" | "deleted";

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
  /**
   * Present while the API idles at zero replicas (`min_replicas: 0`): its next request is held
   * while a replica starts, which took `startSeconds` last time (absent: not measured yet).
   */
  idle?: { startSeconds?: number };
  /** Dollars per hour now (ECS: Fargate tasks + load balancer share); absent when not priced. */
  costPerHour?: Money;
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
  /** What runs the current version, in its engine's own terms (nothing invented for the other). */
  runtime: ApiRuntime;
  /**
   * Newest first. On ECS: the task definition revisions (`revision N`, the newest 10), with
   * `liveAt` null (ECS does not record it) and `createdAt` "" where ECS does not say.
   */
  versions: ApiVersion[];
  events: ApiEvent[];
  /** Absent until the autoscaler's first tick, or when the engine scales by itself. */
  autoscaling?: ApiAutoscaling;
  /** How the engine treats the spec's limits (e.g. `compute.cpu 1 is not enforced on this machine…`). */
  notes?: string[];
  /** Present when the API's config has `monitoring` (or Cortex 0.14's `tracker`). */
  monitoring?: ApiMonitoring;
  /**
   * Traffic per minute from the engine's load balancer, when asked with `?traffic=<minutes>` and
   * the engine measures it that way (ECS: CloudWatch); a local API's live numbers are `metrics`.
   */
  traffic?: ApiTraffic;
  /** Present when the API requires keys (`networking.auth: api_key`): its keys and their counts. */
  apiKeys?: ApiKeyList;
  /** What the API costs (issue 30): dollars on ECS, CPU and memory locally. */
  cost?: AwsApiCost | LocalApiCost;
}

/** What `get <api> --watch` draws for an API whose load balancer keeps its numbers (ECS). */
export interface ApiTraffic {
  /** How often a live view should ask again: the numbers cost AWS calls and change once a minute. */
  redrawMs: number;
  /** Oldest first, one per whole minute (zeros where no request came). */
  minutes: ApiTrafficMinute[];
  /** The service's task counts. */
  replicas: { desired: number; running: number; pending: number };
  /** The bounds autoscaling keeps the desired count in; absent when it has none. */
  scaling?: { min: number; max: number };
  /** Why `minutes` is empty (e.g. AWS denied reading the metrics). */
  unavailable?: string;
}

export interface ApiTrafficMinute {
  /** ISO start of the minute. */
  at: string;
  requests: number;
  requestsPerSecond: number;
  errors5xx: number;
  /** 5xx / requests, 0–1; null in a minute without requests. */
  errorRate: number | null;
  /** null in a minute without requests. */
  p99Ms: number | null;
}

/** `ApiDetail.runtime`: which engine runs the API, and what it runs it with. */
export type ApiRuntime = LocalRuntime | EcsRuntime;

/** On this machine: replica processes in a Python environment. */
export interface LocalRuntime {
  engine: "local";
  python: ApiEnvironment;
}

/** On ECS: Fargate tasks of one task definition revision. Fields ECS did not say are absent. */
export interface EcsRuntime {
  engine: "ecs";
  /** The replica image of the task definition. */
  image?: string;
  /** The Fargate task size each replica gets, from the spec's compute. */
  fargate?: { vcpu: number; memoryGb: number };
  /** The task definition revision the service runs (`family:N`'s N). */
  taskDefinitionRevision: number;
  /** The capacity providers tasks are placed on (the cluster's default strategy). */
  capacityProviders: string[];
}

/** A sum of money with its unit, as `-o json` carries every cost figure. */
export interface Money {
  usd: number;
  unit: "USD/hour" | "USD/1k";
}

/** What an API costs on ECS (issue 30): `get <api> --env`, from the dated price table. */
export interface AwsApiCost {
  engine: "ecs";
  /** Fargate (Spot share priced as Spot) plus the API's share of the load balancer. */
  perHour: Money;
  breakdown: { fargateOnDemand: Money; fargateSpot: Money; loadBalancerShare: Money };
  /** Running tasks by capacity provider (from the strategy), and each task's size. */
  tasks: { onDemand: number; spot: number; vcpu: number; memoryGb: number };
  /** Requests the load balancer counted in the last hour (absent: not read). */
  requestsLastHour?: number;
  /** `perHour` × 1000 / `requestsLastHour`; absent without traffic in the hour. */
  perThousandPredictions?: Money;
  /** What the figures rest on: the price table's region and date, and the assumptions. */
  prices: { region: string; asOf: string; note: string; spot: string; loadBalancer: string };
}

/**
 * What an API uses on this machine (issue 30), from its running replicas' processes (/proc), to
 * size `compute` before moving to AWS: CPU per 1,000 predictions and each replica's peak memory.
 */
export interface LocalApiCost {
  engine: "local";
  /** Running replicas measured, and the predictions (requests) they answered since they started. */
  replicas: number;
  predictions: number;
  /** CPU time of their worker processes since they started (model loading included). */
  cpu: { seconds: number; unit: "CPU-seconds" };
  /** `cpu` × 1000 / `predictions`; absent before the first prediction. */
  cpuPerThousandPredictions?: { seconds: number; unit: "CPU-seconds/1k" };
  /** The largest replica's peak resident memory (its workers' peaks summed): what compute.mem must hold. */
  peakMemoryPerReplica: { bytes: number; unit: "bytes" };
  note: string;
}

/** The Python environment a local API's replicas run in. */
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
  /** The environment's TrafficSplitters (Cortex 0.20); absent when the engine has none. */
  trafficSplitters?: TrafficSplitterSummary[];
  /** The environment's BatchAPIs (issue 32); absent when the engine has none. */
  batchApis?: BatchApiSummary[];
  /**
   * How often a live view of the list should ask again, when the engine's answer costs AWS calls
   * (ECS: 10 s); absent: as often as the view likes (local).
   */
  redrawMs?: number;
}

/** A BatchAPI as `axon get` lists it (Cortex: `batch api | running jobs | latest job id | last update`). */
export interface BatchApiSummary {
  name: string;
  kind: "BatchAPI";
  /** Where jobs are submitted (`POST`), e.g. `http://localhost:8888/image-classifier`. */
  endpoint: string;
  /** ISO time of the last deploy that changed the API. */
  lastUpdated: string;
  /** Jobs enqueuing or running now. */
  runningJobs: number;
  /** The newest job's id, absent before the first job. */
  latestJobId?: string;
}

/** A TrafficSplitter as `axon get` lists it: its weights and what each API got of its traffic. */
export interface TrafficSplitterSummary {
  name: string;
  kind: "TrafficSplitter";
  /** Full URL, e.g. `http://localhost:8888/iris`. */
  endpoint: string;
  /** ISO time of the last deploy that changed its weights or endpoint. */
  lastUpdated: string;
  /**
   * What `requests`, `share` and `errorRate` count, in words (ECS: the load balancer's last 60
   * minutes per target group; locally: the splitter's own requests since the control plane
   * started). Absent only from an older control plane.
   */
  window?: string;
  apis: TrafficSplitterBackendSummary[];
}

export interface TrafficSplitterBackendSummary {
  name: string;
  /** Percentage of the splitter's requests this API is given (the weights total 100). */
  weight: number;
  /** Requests the splitter sent it since the control plane started (absent: not measured). */
  requests?: number;
  /** Its share of the splitter's requests, 0–1 (absent before the first request). */
  share?: number;
  /** Answers ≥ 500 per request it was sent, 0–1 (absent before the first request). */
  errorRate?: number;
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
