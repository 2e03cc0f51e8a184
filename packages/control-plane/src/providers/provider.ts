/**
 * The seam between the control plane and an engine that runs APIs, at the level of one API.
 *
 * The reconciler decides *what* should run — which version, how many replicas, on which endpoint —
 * from desired state in the store; a provider decides *how*. The local provider starts replica
 * processes on this machine and performs rollouts itself (honouring `update_strategy`) with crash
 * backoff. It is the one real provider: APIs on ECS are not behind this seam but behind
 * `engines/api-engine.ts` (decision 0010), since ECS reconciles by itself and the daemon keeps no
 * AWS credentials between commands (decision 0009). `testing/managed-engine.ts` is a test provider
 * shaped like a managed engine, which shows the seam assumes no local processes.
 *
 * The contract (also in docs/decisions/0005-provider-seam.md):
 * - `prepare` turns an uploaded project into what a version needs to run on this engine (locally:
 *   its Python environment) and returns an `Artifact`, a small JSON record the deploy stores with
 *   the version; `apply` gets it back and must not recompute it from the project.
 * - `apply(desired, signal)` is level-based and idempotent: called again with the same desired
 *   state it changes nothing. It may return before the engine has converged; it says when to look
 *   again with `requeueAfterMs`, and calls `onChange` listeners whenever something it reports in
 *   `observe` changed. It honours `signal` (the reconcile's timeout or the daemon stopping) by
 *   returning early; what it started stays observable and the next `apply` carries on.
 * - `remove(name, signal)` stops everything of an API (replicas, route, logs) and forgets it; it is
 *   safe to call for an API the engine never heard of.
 * - `observe(name)` is synchronous and cheap (status reads it on every `get`): the replicas the
 *   engine runs now, by version and phase, and the last failure of a version.
 * - Providers never read the store's desired state, and never print: they report through the event
 *   sink they were given.
 */
import type { ApiSpec, TrafficSplitterSpec } from "@axon/config";
import type { ApiEnvironment, EngineInfo } from "../contract/index.js";
import type { GatewayKeyUsage } from "./local/gateway.js";
import type { MetricsSource } from "../metrics/api-metrics.js";
import type { PredictionSource } from "../monitoring/monitoring-loop.js";
import type { Artifact } from "../state/store.js";

export type { Artifact } from "../state/store.js";

/** One version of an API as the reconciler wants it run. */
export interface DesiredVersion {
  id: string;
  spec: ApiSpec;
  /** sha256 of the project bundle (in the control plane's bundle store). */
  bundle: string;
  artifact: Artifact;
}

/** What should run for one API. */
export interface DesiredApi {
  name: string;
  version: DesiredVersion;
  /** Replicas of `version` to run once converged. */
  replicas: number;
  /** Environment variables beyond `predictor.env` (forwarded credentials); never logged. */
  secretEnv: Record<string, string>;
}

export type ReplicaPhase = "starting" | "ready" | "stopping";

export interface ObservedReplica {
  id: string;
  versionId: string;
  phase: ReplicaPhase;
  startedAt: number;
}

/** The last time replicas of a version crashed or failed to start, for backoff and status. */
export interface ReplicaFailure {
  versionId: string;
  /** Consecutive failures since a replica of this version was last ready. */
  count: number;
  lastAt: number;
  message: string;
}

/** What the engine runs for one API now. */
export interface ObservedApi {
  replicas: ObservedReplica[];
  failure: ReplicaFailure | undefined;
}

export interface ApplyResult {
  /** Look again after this many milliseconds (a crash backoff, a rollout in progress). */
  requeueAfterMs?: number;
}

export interface PrepareRequest {
  /** sha256 of the uploaded bundle. */
  bundle: string;
  /** The bundle unpacked (read-only). */
  projectDir: string;
  /** Aborted when the deploy is cancelled or the daemon stops. */
  signal?: AbortSignal;
  /** Progress for the deploying client (an environment build's output), a line at a time. */
  onProgress?: (line: string) => void;
}

/** An API's logs as the engine keeps them. */
export interface LogSource {
  /** The last `lines` lines, and an opaque position to follow from. */
  tail(apiName: string, lines: number): Promise<{ text: string; position: number }>;
  /** Calls `onData` with what is written after `position`, until `signal` aborts. */
  follow(
    apiName: string,
    position: number,
    onData: (chunk: Buffer) => void,
    signal: AbortSignal,
  ): Promise<void>;
}

/** What an engine says about a spec before it is deployed, and while it runs. */
export interface SpecCheck {
  /** Why the spec cannot run on this engine (the deploy is refused), by field path. */
  errors: Array<{ path: string; message: string }>;
  /** Settings without meaning on this engine, said at deploy, by field path. */
  warnings: Array<{ path: string; message: string }>;
  /** How the engine treats the spec's limits, shown by `axon get <api>`. */
  notes: string[];
}

/**
 * Where an engine that routes requests itself (the local gateway) serves TrafficSplitters; an
 * engine whose load balancer routes them (ECS) has none.
 */
export interface SplitRouter {
  /** Serves `spec` at its endpoint; an existing route keeps its counts (nothing restarts). */
  route(spec: TrafficSplitterSpec): void;
  unroute(name: string): void;
  /** Requests and errors per API since the route was made; undefined when not routed. */
  stats(name: string): { api: string; requests: number; errors: number }[] | undefined;
}

/** `Provider.previewArtifact`: the artifact a deploy would record, and what making it costs. */
export interface ArtifactPreview {
  artifact: Artifact;
  /** `build`: not built yet; `reuse`: one of this content exists; `none`: the base interpreter. */
  environment: "build" | "reuse" | "none";
  environmentKey?: string;
}

/** `Provider.resourceUsage`: an API's running replicas, summed since each started. */
export interface ReplicaUsage {
  replicas: number;
  /** Requests the replicas answered (every status). */
  predictions: number;
  cpuSeconds: number;
  /** The largest replica's peak resident memory (its workers' peaks summed). */
  peakReplicaBytes: number;
}

export interface Provider {
  /** `local`, `aws`, …: shown in `axon cluster info`. */
  readonly kind: string;
  /** Starts the engine's own parts (the local gateway) and finds what a previous run left. */
  start(signal: AbortSignal): Promise<void>;
  /** Whether the engine can run APIs now, and where they are served. */
  engineInfo(): EngineInfo;
  /** The full URL of an API's endpoint path. */
  endpointUrl(endpoint: string): string;
  /**
   * What this engine can and cannot do with a spec (GPUs present, limits it enforces); with the
   * version's artifact when there is one (locally it says whether the config wrote compute.cpu).
   */
  checkSpec(spec: ApiSpec, artifact?: Artifact): SpecCheck;
  prepare(request: PrepareRequest): Promise<Artifact>;
  /**
   * What `prepare` would return for `projectDir`, and whether it would build, without building
   * (`deploy --plan`, issue 30). Optional: an engine without it previews no environment.
   */
  previewArtifact?(projectDir: string): ArtifactPreview;
  /**
   * Whether a version of `next` would keep `current`'s running replicas (only what the replicas do
   * not read changed) rather than replace them. Optional: without it every change restarts.
   */
  keepsReplicas?(current: DesiredApi, next: DesiredApi): boolean;
  /**
   * What an API's running replicas used, from their processes' own accounting, and the
   * predictions they answered (`get`'s local cost, issue 30). Optional: an engine without it says
   * no cost.
   */
  resourceUsage?(apiName: string): ReplicaUsage;
  /** The Python environment an artifact stands for, as `axon get <api>` shows it. */
  describeArtifact(artifact: Artifact): ApiEnvironment;
  /** Artifacts still referenced by a version; the provider may remove the others it made. */
  collectUnusedArtifacts(inUse: Artifact[]): Promise<void>;
  apply(desired: DesiredApi, signal: AbortSignal): Promise<ApplyResult>;
  remove(apiName: string, signal: AbortSignal): Promise<void>;
  observe(apiName: string): ObservedApi;
  /** Every API the engine runs something for (to find ones deleted while the daemon was down). */
  apiNames(): string[];
  /** Called with an API's name whenever what `observe` reports for it changed. */
  onChange(listener: (apiName: string) => void): void;
  readonly logs: LogSource;
  /** Request metrics, when the engine reports them. */
  readonly metrics: MetricsSource | undefined;
  /** Prediction monitoring's tallies, when the engine records them. */
  readonly predictions: PredictionSource | undefined;
  /** TrafficSplitter routes, when the engine routes requests itself. */
  readonly splitRouter?: SplitRouter;
  /**
   * Scale to zero: who raises an API at zero replicas to one when a request arrives (returns
   * whether it did); only an engine that holds requests while a replica starts offers it.
   */
  onWakeRequest?(handler: (apiName: string) => boolean): void;
  /** How long the API's last replica took to start (ms), when the engine measured one. */
  lastStartMs?(apiName: string): number | undefined;
  /** API keys at the engine's fronts (`networking.auth: api_key`), when it serves them here. */
  readonly apiKeys?: ApiKeyPort;
  /** Stops serving; the local provider stops its replicas (a managed engine keeps running). */
  shutdown(): Promise<void>;
}

/** What the local engine tells the fronts about API keys, and reads back from them. */
export interface ApiKeyPort {
  /**
   * Throws (`gateway.exposed_without_auth`) when the gateway listens beyond loopback and one of
   * `apis` would be served without keys.
   */
  checkExposure(apis: ReadonlyArray<{ name: string; auth: string | undefined }>): void;
  /** A key of the API was made or revoked: the fronts re-read the key set now. */
  changed(apiName: string): Promise<void>;
  /** Per-key counters at the fronts; undefined when the API does not require keys. */
  usage(apiName: string): GatewayKeyUsage | undefined;
}
