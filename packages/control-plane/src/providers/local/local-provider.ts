/**
 * The local provider: each replica is a replica front in this process plus Python worker processes
 * on this machine, reachable through the local gateway. It performs rollouts itself (`rollout.ts`,
 * honouring `update_strategy`), backs off after crashes, builds each version's Python environment
 * (`prepare`), keeps each API's log file, and records worker PIDs so a daemon restarted after
 * `kill -9` can stop anything its predecessor left behind. Everything that only makes sense on this
 * machine lives in this folder; the rest of the control plane sees the `Provider` interface.
 */
import { createHash, randomBytes } from "node:crypto";
import { appendFileSync, chownSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  DEFAULT_PREDICTOR_TIMEOUT_MS,
  parseDuration,
  type ApiSpec,
  type BatchApiSpec,
} from "@axon/config";
import type { ApiEnvironment, EngineInfo } from "../../contract/index.js";
import type { EventSink } from "../../events/event-sink.js";
import { formatLogTime } from "../../events/log-line.js";
import type { StateStore } from "../../state/store.js";
import type { PredictionSource } from "../../monitoring/monitoring-loop.js";
import {
  addToTotals,
  type MetricsSource,
  type ReplicaMetricsView,
} from "../../metrics/api-metrics.js";
import {
  emptyStats,
  mergeStats,
  STATUS_CLASSES,
  type RequestStats,
} from "../../replica/metrics.js";
import type { PredictionTally } from "../../replica/prediction-recorder.js";
import { Replica } from "../../replica/replica.js";
import { replicaOptionsFromSpec } from "../../replica/spec-options.js";
import type { WorkerPoolOptions } from "../../replica/worker-pool.js";
import type {
  ApplyResult,
  Artifact,
  ArtifactPreview,
  DesiredApi,
  ObservedApi,
  ObservedReplica,
  PrepareRequest,
  Provider,
  ReplicaFailure,
  ReplicaUsage,
  SpecCheck,
  SplitRouter,
} from "../provider.js";
import type { ApiLogs } from "./api-logs.js";
import {
  probeCgroups,
  removeCgroupParents,
  ReplicaCgroup,
  removeStaleCgroups,
  type CgroupSupport,
} from "./cgroups.js";
import {
  checkLocalSpec,
  cpuLimit,
  cpuQuotaApplies,
  cpuQuotaPolicy,
  formatBytes,
  memoryLimitBytes,
  treeResidentBytes,
  type CpuQuotaPolicy,
  type DeviceProbe,
  type LimitEnforcement,
} from "./compute-limits.js";
import { shortPythonVersion, EnvironmentManager } from "./environments/index.js";
import { isLoopbackHost, requireKeysBeyondLoopback } from "./gateway-exposure.js";
import type { GatewayTls } from "./gateway-tls.js";
import {
  Gateway,
  type ColdStart,
  type FailedColdStart,
  type GatewayBackend,
  type GatewayKeySource,
  type GatewayKeyUsage,
  type RoutableReplica,
} from "./gateway.js";
import {
  resolveBaseInterpreter,
  type LocalPython,
  type PythonChoice,
} from "./python-interpreter.js";
import { treeUsage } from "./process-usage.js";
import { PythonEnvironments, type PreparedRuntime } from "./python-environments.js";
import { assertProjectCompiles } from "./python-syntax-check.js";
import { planRolloutStep } from "./rollout.js";
import { HostUsers, hostUsersUnavailable, type HostUser } from "./host-users.js";
import {
  homeFoldersOf,
  probeSandbox,
  Sandbox,
  sandboxUidFor,
  type SandboxProbe,
} from "./sandbox.js";
import { WorkerRegistry } from "./worker-registry.js";

/** `LocalProvider.batchWorkerLaunch`: a batch worker's pool options and its bookkeeping. */
export interface BatchWorkerLaunch {
  pool: Omit<WorkerPoolOptions, "processes" | "threads" | "config">;
  recordPids(pids: number[]): void;
  /** Kills by the kernel's OOM killer in the worker's cgroup so far (0 without a memory cgroup). */
  oomKills(): number;
  release(): Promise<void>;
}

export interface LocalProviderOptions {
  home: string;
  /** The unpacked project folder of a stored bundle (the bundle store's `unpack`). */
  projectDir: (bundle: string) => Promise<string>;
  events: EventSink;
  logs: ApiLogs;
  python: PythonChoice;
  gatewayPort: number;
  /** Build environments without the base interpreter's packages (AXON_ENV_ISOLATED=1). */
  isolatedEnvironments: boolean;
  /** Unused environments are removed this long after their last use. */
  envGcGraceMs: number;
  /** Aborted when the daemon stops: environment builds in progress end. */
  stopSignal: AbortSignal;
  /** Where replica sockets live (default: `chooseRunDir`). */
  runDir?: string;
  /**
   * How long a replica stopped by a rolling update, scale-down or delete may finish its requests
   * in flight. Default: the API's `predictor.timeout` — a request is never cut before it would
   * have timed out anyway.
   */
  drainGraceMs?: number;
  now?: () => number;
  /**
   * Where the keys of APIs with `networking.auth: api_key` live (the state database). Absent: such
   * APIs refuse every request.
   */
  apiKeys?: Pick<StateStore, "listApiKeys" | "touchApiKeys">;
  /** How often the gateway re-reads an API's keys (default 30 s, KEY_REFRESH_MS). */
  keyRefreshMs?: number;
  /**
   * Where the gateway listens (default 127.0.0.1). Beyond loopback every API must require keys
   * unless `insecureNoAuth` (gateway-exposure.ts).
   */
  gatewayHost?: string;
  insecureNoAuth?: boolean;
  /** Serve the gateway over HTTPS with this certificate (`--tls-cert/--tls-key`, gateway-tls.ts). */
  gatewayTls?: GatewayTls;
  /** Which accelerators this machine has (default: /dev/nvidia*, /dev/neuron*). */
  devices?: DeviceProbe;
  /** Whether predictors can be sandboxed here (default: probe bubblewrap at start). */
  sandbox?: SandboxProbe;
  /** Writable cgroups for `compute.mem`/`cpu` (default: probe at start; none: measure instead). */
  cgroups?: CgroupSupport;
  /**
   * Which replicas a writable cpu cgroup holds to `compute.cpu` with a CPU quota (default: from
   * `AXON_CPU_QUOTA`, else those whose config wrote compute.cpu; compute-limits.ts says why).
   */
  cpuQuota?: CpuQuotaPolicy;
  /**
   * A host system user per API when the daemon runs as root and the sandbox works (default: where
   * `useradd`, `setpriv` and ACLs are available; host-users.ts). False: the namespace uid instead.
   */
  hostUsers?: boolean;
}

/** How often replicas' resident memory is measured against `compute.mem`. */
const MEMORY_CHECK_INTERVAL_MS = 1_000;

/** How long replicas may finish requests when the whole control plane stops (it has 30 s). */
const SHUTDOWN_GRACE_MS = 10_000;
const BACKOFF_BASE_MS = 1_000;
const BACKOFF_MAX_MS = 60_000;

/** Delay before restarting after `failures` consecutive crashes (1 s, 2 s, 4 s … 60 s). */
export function crashBackoffMs(failures: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, failures - 1));
}

/** The local provider's artifact: the Python environment a version runs in. */
interface LocalArtifact {
  /** Content key of the built environment; null runs the base interpreter directly. */
  envKey: string | null;
  /**
   * The config wrote compute.cpu, so a CPU quota applies: added per API by the deploy
   * (deploy-plan.ts's `localArtifactFor`), never by `prepare`, which sees only the project.
   */
  cpuWritten?: boolean;
}

function parseLocalArtifact(artifact: Artifact): LocalArtifact {
  const envKey = artifact.envKey;
  return {
    envKey: typeof envKey === "string" ? envKey : null,
    cpuWritten: artifact.cpuWritten === true,
  };
}

/**
 * What a replica's processes were started from: a new version with the same key (a change of
 * autoscaling, networking or update_strategy only) adopts the running replicas instead of rolling
 * them. Everything a replica reads at start is in it: code, environment, credentials, the
 * predictor's settings, compute, and the replica's own options (its concurrency bound, its
 * prediction monitoring).
 */
function runtimeKey(desired: DesiredApi): string {
  const { spec, bundle, artifact } = desired.version;
  return createHash("sha256")
    .update(
      JSON.stringify([
        bundle,
        artifact,
        desired.secretEnv,
        spec.predictor,
        spec.compute,
        replicaOptionsFromSpec(spec),
      ]),
    )
    .digest("hex");
}

interface Entry {
  observed: ObservedReplica;
  apiName: string;
  /** `compute.mem` in bytes and as written (undefined: no limit), and the peak measured. */
  memory: { limit: number; written: string; peak: number } | undefined;
  /** `runtimeKey` of the desired state it was started for. */
  runtimeKey: string;
  replica: Replica;
  /** The API's per-request timeout: the drain a planned stop gives it. */
  timeoutMs: number;
  /** The kernel's limits of its workers (undefined: none writable, or nothing to limit). */
  cgroup: ReplicaCgroup | undefined;
}

export class LocalProvider implements Provider, GatewayBackend, MetricsSource, PredictionSource {
  readonly kind = "local";
  readonly logs: ApiLogs;
  readonly gateway: Gateway;
  readonly splitRouter: SplitRouter;
  readonly #options: LocalProviderOptions;
  readonly #now: () => number;
  readonly #runDir: string;
  readonly #workers: WorkerRegistry;
  readonly #environments: PythonEnvironments;
  #python: LocalPython;
  #gatewayUrl = "";
  #memoryWatch: NodeJS.Timeout | undefined;
  #sandbox = new Sandbox({ bwrap: undefined, reason: "not started" });
  #cgroups: CgroupSupport = { memory: undefined, cpu: undefined };
  /** Per-API host users (root daemons); undefined: none, for `#hostUsersOff`'s reason. */
  #hostUsers: HostUsers | undefined;
  #hostUsersOff: string | undefined = "not started";
  #cpuQuota: CpuQuotaPolicy = "written";
  /** Failed replicas' stops and cgroup removals, not awaited where they start (see shutdown). */
  readonly #background = new Set<Promise<void>>();
  readonly #replicas = new Map<string, Entry>();
  readonly #failures = new Map<string, ReplicaFailure>();
  /** Request totals of replicas that are gone, per API, so API counters never go backwards. */
  readonly #retiredStats = new Map<string, RequestStats>();
  /**
   * Failed replicas still finishing requests on their surviving workers: no longer routed to or
   * reconciled, but their answers still count until they have stopped.
   */
  readonly #failing = new Set<Entry>();
  /**
   * Ready replicas per API for the gateway's hot path, rebuilt lazily after any phase change so a
   * request never scans the replicas of every API.
   */
  readonly #readyCache = new Map<string, RoutableReplica[]>();
  /** Specs of the APIs that may idle at zero (`min_replicas: 0`): their requests can be held. */
  readonly #coldSpecs = new Map<string, ApiSpec>();
  /** APIs a held request woke, until a replica of theirs is ready. */
  readonly #waking = new Set<string>();
  /** How long each API's last replica took to start (ms): a held request's Retry-After. */
  readonly #lastStartMs = new Map<string, number>();
  #wake: ((apiName: string) => boolean) | undefined;
  readonly #listeners: Array<(apiName: string) => void> = [];

  constructor(options: LocalProviderOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.logs = options.logs;
    this.gateway = new Gateway(
      this,
      options.gatewayTls === undefined ? {} : { tls: options.gatewayTls },
    );
    const gateway = this.gateway;
    this.splitRouter = {
      route: (spec) =>
        gateway.setSplitRoute(
          spec.name,
          spec.endpoint,
          spec.apis.map((api) => ({ api: api.name, weight: api.weight })),
        ),
      unroute: (name) => gateway.removeSplitRoute(name),
      stats: (name) => gateway.splitStats(name),
    };
    this.#runDir = options.runDir ?? chooseRunDir(options.home);
    this.#workers = new WorkerRegistry(path.join(options.home, "local-workers.json"));
    this.#python = {
      choice: options.python,
      path: options.python.path,
      version: null,
      problem: undefined,
    };
    this.#environments = new PythonEnvironments(
      new EnvironmentManager({ root: path.join(options.home, "envs") }),
      () => ({ path: this.#python.path, version: this.#python.version }),
      options.isolatedEnvironments,
      options.stopSignal,
    );
  }

  get metrics(): MetricsSource {
    return this;
  }

  get predictions(): PredictionSource {
    return this;
  }

  readonly apiKeys = {
    checkExposure: (apis: ReadonlyArray<{ name: string; auth: string | undefined }>): void =>
      requireKeysBeyondLoopback(
        {
          host: this.#options.gatewayHost ?? "127.0.0.1",
          insecureNoAuth: this.#options.insecureNoAuth === true,
        },
        apis,
      ),
    changed: (apiName: string): Promise<void> => this.gateway.reloadKeys(apiName),
    usage: (apiName: string): GatewayKeyUsage | undefined => this.gateway.keyUsage(apiName),
  };

  /**
   * The gateway's source of an API's keys: the state database, read at each refresh, which also
   * writes back when each key was last used (so `keys list` shows it across restarts).
   */
  #keySourceFor(apiName: string): GatewayKeySource {
    const store = this.#options.apiKeys;
    return {
      load: async () => {
        if (store === undefined) return [];
        const used = this.gateway.keyUsage(apiName)?.keys ?? [];
        store.touchApiKeys(
          apiName,
          used.flatMap((k) =>
            k.lastUsedAt === null
              ? []
              : [{ id: k.id, lastUsedAt: new Date(k.lastUsedAt).toISOString() }],
          ),
        );
        return store.listApiKeys(apiName);
      },
      log: (line) => {
        try {
          appendFileSync(
            this.logs.fileFor(apiName),
            `${formatLogTime(new Date())} axon   [${apiName}] ${line}\n`,
          );
        } catch {
          // the log file is gone; serving matters more than logging
        }
      },
      ...(this.#options.keyRefreshMs === undefined
        ? {}
        : { intervalMs: this.#options.keyRefreshMs }),
      onError: (error) =>
        this.#options.events.emit({
          kind: "reconcile.failed",
          api: apiName,
          message: `reading the API keys failed (the last ones read stay in force): ${error instanceof Error ? error.message : String(error)}`,
        }),
    };
  }

  drainPredictions(apiName: string): Array<{ versionId: string; tally: PredictionTally }> {
    const result: Array<{ versionId: string; tally: PredictionTally }> = [];
    for (const entry of [...this.#replicas.values(), ...this.#failing]) {
      if (entry.apiName !== apiName) continue;
      const tally = entry.replica.drainPredictions();
      if (tally !== undefined) result.push({ versionId: entry.observed.versionId, tally });
    }
    return result;
  }

  async start(signal: AbortSignal): Promise<void> {
    this.#stopOrphanWorkers();
    this.#sandbox = new Sandbox(this.#options.sandbox ?? probeSandbox());
    this.#hostUsersOff = !this.#sandbox.enabled
      ? "no sandbox"
      : this.#options.hostUsers === false
        ? "turned off"
        : hostUsersUnavailable(this.#options.home, process.env);
    this.#hostUsers =
      this.#hostUsersOff === undefined ? new HostUsers(this.#options.home) : undefined;
    const cgroups =
      this.#options.cgroups ??
      probeCgroups(createHash("sha256").update(this.#options.home).digest("hex").slice(0, 8));
    this.#cpuQuota = this.#options.cpuQuota ?? cpuQuotaPolicy(process.env);
    this.#cgroups = cgroups;
    removeStaleCgroups(this.#cgroups);
    rmSync(this.#runDir, { recursive: true, force: true });
    mkdirSync(this.#runDir, { recursive: true, mode: 0o700 });
    this.#python = await resolveBaseInterpreter(this.#options.python);
    if (this.#python.problem !== undefined) {
      this.#options.events.emit({ kind: "daemon.warning", message: this.#python.problem });
    }
    signal.throwIfAborted();
    this.#memoryWatch = setInterval(() => this.#enforceMemory(), MEMORY_CHECK_INTERVAL_MS);
    this.#memoryWatch.unref();
    const host = this.#options.gatewayHost ?? "127.0.0.1";
    const port = await this.gateway.listen(this.#options.gatewayPort, host);
    // Beyond loopback the URL others use; any-address binds are shown as this machine's name.
    const scheme = this.#options.gatewayTls === undefined ? "http" : "https";
    this.#gatewayUrl = isLoopbackHost(host)
      ? `${scheme}://localhost:${port}`
      : `${scheme}://${host === "0.0.0.0" || host === "::" ? os.hostname() : host.includes(":") ? `[${host}]` : host}:${port}`;
  }

  engineInfo(): EngineInfo {
    const python = this.#python;
    return {
      provider: this.kind,
      ready: python.problem === undefined,
      ...(python.problem === undefined ? {} : { problem: python.problem }),
      gatewayUrl: this.#gatewayUrl,
      python: {
        path: python.path,
        version: python.version === null ? null : shortPythonVersion(python.version),
        source: python.choice.source,
      },
      replicas: this.#replicas.size,
      workerPids: [...this.#replicas.values()].flatMap((e) => e.replica.pids()),
      sandbox: this.#sandbox.describe(
        this.#cgroups.memory === undefined ? "measured" : "cgroup",
        this.#hostUsersOff,
      ),
    };
  }

  endpointUrl(endpoint: string): string {
    return `${this.#gatewayUrl}${endpoint}`;
  }

  checkSpec(spec: ApiSpec, artifact?: Artifact): SpecCheck {
    const cpuWritten = artifact !== undefined && parseLocalArtifact(artifact).cpuWritten;
    return checkLocalSpec(spec, this.#options.devices, this.#enforcement(), cpuWritten);
  }

  #enforcement(): LimitEnforcement {
    return {
      memory: this.#cgroups.memory !== undefined,
      cpu: this.#cgroups.cpu !== undefined,
      cpuQuota: this.#cpuQuota,
    };
  }

  async prepare(request: PrepareRequest): Promise<Artifact> {
    const { events } = this.#options;
    let runtime: PreparedRuntime;
    try {
      runtime = await this.#environments.prepare(request.projectDir, request.onProgress);
      if (runtime.envKey !== null && runtime.builtInMs !== null) {
        events.emit({
          kind: "environment.built",
          key: runtime.envKey,
          seconds: runtime.builtInMs / 1000,
        });
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      events.emit({ kind: "environment.build_failed", message });
      throw error;
    }
    // With the interpreter the replicas will run: a syntax error is the user's line, not a crash.
    await assertProjectCompiles(request.projectDir, runtime.python);
    return { envKey: runtime.envKey } satisfies LocalArtifact;
  }

  previewArtifact(projectDir: string): ArtifactPreview {
    const { envKey, exists } = this.#environments.preview(projectDir);
    const artifact = { envKey } satisfies LocalArtifact;
    if (envKey === null) return { artifact, environment: "none" };
    return { artifact, environment: exists ? "reuse" : "build", environmentKey: envKey };
  }

  /** The same runtime key as `apply` adopts replicas by: the preview cannot disagree with it. */
  keepsReplicas(current: DesiredApi, next: DesiredApi): boolean {
    return runtimeKey(current) === runtimeKey(next);
  }

  resourceUsage(apiName: string): ReplicaUsage {
    const usage: ReplicaUsage = { replicas: 0, predictions: 0, cpuSeconds: 0, peakReplicaBytes: 0 };
    for (const entry of this.#replicas.values()) {
      if (entry.apiName !== apiName || entry.observed.phase === "stopping") continue;
      let peak = 0;
      // The tree: a sandboxed worker is bubblewrap's grandchild, not the process spawned.
      for (const pid of entry.replica.pids()) {
        const tree = treeUsage(pid);
        usage.cpuSeconds += tree.cpuSeconds;
        peak += tree.peakBytes;
      }
      usage.replicas += 1;
      usage.predictions += entry.replica.requestStats().count;
      usage.peakReplicaBytes = Math.max(usage.peakReplicaBytes, peak);
    }
    return usage;
  }

  describeArtifact(artifact: Artifact): ApiEnvironment {
    const { envKey } = parseLocalArtifact(artifact);
    const { path: basePython, version } = this.#environments.base();
    const base = {
      basePython,
      baseVersion: version === null ? null : shortPythonVersion(version),
      isolated: this.#environments.isolated,
    };
    const record = envKey === null ? undefined : this.#environments.describe(envKey);
    if (record === undefined) {
      return { key: envKey, python: basePython, ...base, packages: 0, distributions: [] };
    }
    return {
      key: record.key,
      python: record.python,
      basePython: record.basePython,
      baseVersion: shortPythonVersion(record.baseVersion),
      isolated: record.isolated,
      packages: record.distributions.length,
      distributions: record.distributions,
    };
  }

  async collectUnusedArtifacts(inUse: Artifact[]): Promise<void> {
    const keys = new Set(inUse.flatMap((a) => parseLocalArtifact(a).envKey ?? []));
    try {
      const removed = await this.#environments.collectGarbage(keys, this.#options.envGcGraceMs);
      for (const key of removed) this.#options.events.emit({ kind: "environment.removed", key });
    } catch (error) {
      this.#options.events.emit({
        kind: "environment.cleanup_failed",
        message: error instanceof Error ? error.message : String(error),
      });
    }
  }

  async apply(desired: DesiredApi, signal: AbortSignal): Promise<ApplyResult> {
    const { name, version } = desired;
    const { spec } = version;
    this.gateway.setRoute(name, spec.networking.endpoint);
    if (spec.autoscaling.min_replicas === 0) this.#coldSpecs.set(name, spec);
    else this.#coldSpecs.delete(name);
    // Back at zero (or never woken): the next request wakes it afresh, even after a failed start.
    if (desired.replicas === 0) this.#waking.delete(name);
    await this.gateway.setKeySource(
      name,
      spec.networking.auth === "api_key" ? this.#keySourceFor(name) : undefined,
    );
    const key = runtimeKey(desired);
    this.#adoptSameRuntime(name, version.id, key);
    const failure = this.#failures.get(name);
    const backoffMs =
      failure?.versionId === version.id
        ? failure.lastAt + crashBackoffMs(failure.count) - this.#now()
        : 0;
    const input = {
      desired: desired.replicas,
      versionId: version.id,
      replicas: this.#liveReplicas(name),
      maxSurge: spec.update_strategy.max_surge,
      maxUnavailable: spec.update_strategy.max_unavailable,
    };
    const step = planRolloutStep(input);
    // In a crash backoff nothing starts, and nothing stops to make room for what cannot start:
    // look again when it is over.
    if (backoffMs > 0 && step.start > 0) return { requeueAfterMs: backoffMs };
    // Stops are not awaited: a stopped replica drains in the background and reports when it is
    // gone (onChange), which plans the next step.
    for (const id of step.stop) {
      const entry = this.#replicas.get(id);
      if (entry !== undefined) void this.#stopReplica(entry, this.#drainGraceMs(entry));
    }
    if (step.start > 0) {
      const projectDir = await this.#options.projectDir(version.bundle);
      const python = await this.#pythonFor(version.artifact, projectDir);
      // Synchronous once the API's account is ready: the plan above and these starts stay one step.
      const user =
        this.#hostUserReady(name, projectDir, python) ??
        (await this.#hostUserFor(name, projectDir, python));
      const cpuWritten = parseLocalArtifact(version.artifact).cpuWritten === true;
      signal.throwIfAborted();
      for (let i = 0; i < step.start; i++) {
        this.#startReplica(name, version.id, key, spec, projectDir, python, desired.secretEnv, {
          user,
          cpuWritten,
        });
      }
    }
    return {};
  }

  async remove(apiName: string, signal: AbortSignal): Promise<void> {
    this.gateway.removeRoute(apiName);
    this.#coldSpecs.delete(apiName);
    this.#waking.delete(apiName);
    const entries = [...this.#replicas.values()].filter((e) => e.apiName === apiName);
    const stopped = Promise.all(entries.map((e) => this.#stopReplica(e, this.#drainGraceMs(e))));
    await Promise.race([stopped, abortedPromise(signal)]);
    this.#retiredStats.delete(apiName);
    this.gateway.forgetStats(apiName);
    this.#failures.delete(apiName);
    // Like its replicas, an API's logs go with it: a new API of the same name starts clean.
    this.logs.remove(apiName);
    // Its account is kept (host-users.ts says why); what was opened to it is closed.
    await this.#hostUsers?.revoke(apiName).catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      this.#options.events.emit({
        kind: "daemon.warning",
        message: `the folders opened to API ${apiName}'s user could not all be closed: ${message}`,
      });
    });
  }

  observe(apiName: string): ObservedApi {
    const replicas: ObservedReplica[] = [];
    for (const entry of this.#replicas.values()) {
      if (entry.apiName === apiName) replicas.push({ ...entry.observed });
    }
    return { replicas, failure: this.#failures.get(apiName) };
  }

  apiNames(): string[] {
    return [...new Set([...this.#replicas.values()].map((e) => e.apiName))];
  }

  onChange(listener: (apiName: string) => void): void {
    this.#listeners.push(listener);
  }

  /** Worker PIDs of an API's live replicas (tests and `cluster info`). */
  workerPids(apiName: string): number[] {
    return [...this.#replicas.values()]
      .filter((e) => e.apiName === apiName)
      .flatMap((e) => e.replica.pids());
  }

  readyReplicas(apiName: string): RoutableReplica[] {
    const cached = this.#readyCache.get(apiName);
    if (cached !== undefined) return cached;
    const result: RoutableReplica[] = [];
    for (const entry of this.#replicas.values()) {
      if (entry.apiName === apiName && entry.observed.phase === "ready") {
        result.push(entry.replica);
      }
    }
    this.#readyCache.set(apiName, result);
    return result;
  }

  /** Who raises an API at zero to one replica when a request arrives (the autoscaler). */
  onWakeRequest(handler: (apiName: string) => boolean): void {
    this.#wake = handler;
  }

  /** How long an API's last replica took to start, when one has started since the daemon did. */
  lastStartMs(apiName: string): number | undefined {
    return this.#lastStartMs.get(apiName);
  }

  coldStart(apiName: string): ColdStart | FailedColdStart | undefined {
    const spec = this.#coldSpecs.get(apiName);
    if (spec === undefined) return undefined;
    // Woken, and the start failed: answer at once with why, until a replica is ready or the API
    // is back at zero (crash backoff keeps retrying the start meanwhile).
    const failed = this.#failedColdStart(apiName);
    if (failed !== undefined) return failed;
    const starting = [...this.#replicas.values()].some(
      (entry) => entry.apiName === apiName && entry.observed.phase === "starting",
    );
    if (!starting && !this.#waking.has(apiName)) {
      // Only an API at zero is woken; one whose replicas fail is refused as before.
      if (this.#wake?.(apiName) !== true) return undefined;
      this.#waking.add(apiName);
    }
    const timeout = spec.predictor.timeout;
    return {
      timeoutMs: timeout === undefined ? DEFAULT_PREDICTOR_TIMEOUT_MS : parseDuration(timeout),
      holdLimit: spec.autoscaling.max_replica_concurrency,
      lastStartMs: this.#lastStartMs.get(apiName),
    };
  }

  /** The failure of a start from zero, while the API is woken and has no ready replica. */
  #failedColdStart(apiName: string): FailedColdStart | undefined {
    const failure = this.#failures.get(apiName);
    if (failure === undefined || !this.#waking.has(apiName)) return undefined;
    const nextStartIn = Math.max(0, failure.lastAt + crashBackoffMs(failure.count) - this.#now());
    return {
      failed: `${failure.message}; run \`axon logs ${apiName}\``,
      retryAfterMs: nextStartIn + (this.#lastStartMs.get(apiName) ?? 1000),
    };
  }

  whyNotReady(apiName: string): string {
    const failure = this.#failures.get(apiName);
    if (failure !== undefined)
      return `its replicas keep failing: ${failure.message}; run \`axon logs ${apiName}\``;
    return "its replicas are still starting";
  }

  replicaMetrics(): ReplicaMetricsView[] {
    return [...this.#replicas.values()].map((entry) => ({
      apiName: entry.apiName,
      replicaId: entry.observed.id,
      inFlight: entry.replica.inFlight,
      stats: entry.replica.requestStats(),
    }));
  }

  apiRequestStats(apiName: string): RequestStats {
    const total = mergeStats(emptyStats(), this.#retiredStats.get(apiName) ?? emptyStats());
    // The gateway's own refusals (no ready replica) count by status class, not in the latency
    // histogram: they took no serving time and would drag the API's latency toward zero.
    const refused = this.gateway.refusedStats(apiName);
    if (refused !== undefined) {
      for (const cls of STATUS_CLASSES) total.statusClasses[cls] += refused.statusClasses[cls];
    }
    for (const entry of [...this.#replicas.values(), ...this.#failing]) {
      if (entry.apiName === apiName) mergeStats(total, entry.replica.requestStats());
    }
    return total;
  }

  inFlightSamples(apiName: string, sinceEpochMs: number): number[][] {
    const result: number[][] = [];
    for (const entry of this.#replicas.values()) {
      if (entry.apiName !== apiName) continue;
      result.push(entry.replica.inFlightSamples(sinceEpochMs).map((sample) => sample.value));
    }
    return result;
  }

  metricApiNames(): string[] {
    const failing = [...this.#failing].map((entry) => entry.apiName);
    return [
      ...new Set([...this.#retiredStats.keys(), ...this.gateway.refusedApiNames(), ...failing]),
    ];
  }

  /** Stops a replica whose workers hold more resident memory than its `compute.mem`. */
  #enforceMemory(): void {
    // (#fail deletes the entry it fails: a Map's iterator carries on past a deleted entry)
    for (const entry of this.#replicas.values()) {
      const memory = entry.memory;
      if (memory === undefined || entry.observed.phase === "stopping") continue;
      // The kernel enforces it: measuring would only race the OOM killer.
      if (entry.cgroup?.limitsMemory === true) continue;
      const over = this.#overMemory(entry);
      if (over !== undefined) this.#fail(entry, over);
    }
  }

  /** Why a replica's workers are above `compute.mem` (measured), or undefined when they are not. */
  #overMemory(entry: Entry): string | undefined {
    const memory = entry.memory;
    if (memory === undefined) return undefined;
    let resident = 0;
    // The tree: a sandboxed worker is bubblewrap's grandchild, not the process spawned.
    for (const pid of entry.replica.pids()) resident += treeResidentBytes(pid);
    memory.peak = Math.max(memory.peak, resident);
    if (resident <= memory.limit) return undefined;
    return `replica exceeded compute.mem ${memory.written} (peak ${formatBytes(memory.peak)}); raise compute.mem or use less memory in the predictor`;
  }

  /** A failure's reason, with the kernel's OOM kill named when the cgroup saw one. */
  #failureReason(entry: Entry, message: string): string {
    if (entry.memory === undefined || entry.cgroup === undefined) return message;
    if (entry.cgroup.oomKills() === 0) return message;
    // "worker 0 of replica r-1 was killed by SIGKILL before it was ready": who, and when.
    const who = message.split(":")[0] ?? message;
    return `killed: out of memory (compute.mem ${entry.memory.written}): ${who}; raise compute.mem or use less memory in the predictor`;
  }

  async shutdown(): Promise<void> {
    if (this.#memoryWatch !== undefined) clearInterval(this.#memoryWatch);
    const grace = Math.min(this.#options.drainGraceMs ?? SHUTDOWN_GRACE_MS, SHUTDOWN_GRACE_MS);
    await Promise.all([...this.#replicas.values()].map((entry) => this.#stopReplica(entry, grace)));
    // Failed replicas stop and lose their cgroups in the background: the parents go after them.
    while (this.#background.size > 0) await Promise.all(this.#background);
    removeCgroupParents(this.#cgroups);
    await this.gateway.close();
    this.#workers.clear();
  }

  #changed(apiName: string): void {
    for (const listener of this.#listeners) listener(apiName);
  }

  /** Replicas of an API that are starting or ready (stopping ones are draining: not counted). */
  #liveReplicas(apiName: string): ObservedReplica[] {
    return this.observe(apiName).replicas.filter((r) => r.phase !== "stopping");
  }

  #drainGraceMs(entry: Entry): number {
    return this.#options.drainGraceMs ?? entry.timeoutMs;
  }

  /** The interpreter of a version: its environment's, built again if it was removed meanwhile. */
  async #pythonFor(artifact: Artifact, projectDir: string): Promise<string> {
    const { envKey } = parseLocalArtifact(artifact);
    if (envKey === null) return this.#environments.base().path;
    const record = this.#environments.describe(envKey);
    if (record !== undefined) {
      this.#environments.markUsed(envKey);
      return record.python;
    }
    const runtime = await this.#environments.prepare(projectDir);
    if (runtime.envKey !== null) this.#environments.markUsed(runtime.envKey);
    return runtime.python;
  }

  /**
   * Replicas of another version started from the same runtime (only autoscaling, networking or
   * update_strategy changed) become replicas of `versionId`: nothing restarts.
   */
  #adoptSameRuntime(apiName: string, versionId: string, key: string): void {
    let adopted = false;
    for (const entry of this.#replicas.values()) {
      const { observed } = entry;
      if (entry.apiName !== apiName || observed.versionId === versionId) continue;
      if (entry.runtimeKey !== key || observed.phase === "stopping") continue;
      observed.versionId = versionId;
      adopted = true;
    }
    if (adopted) this.#readyCache.delete(apiName);
  }

  #startReplica(
    apiName: string,
    versionId: string,
    key: string,
    spec: ApiSpec,
    projectDir: string,
    python: string,
    secretEnv: Record<string, string>,
    launch: { user: HostUser | Error | undefined; cpuWritten: boolean },
  ): void {
    const { user } = launch;
    const id = `r-${randomBytes(3).toString("hex")}`;
    const fromSpec = replicaOptionsFromSpec(spec);
    const timeoutMs = fromSpec.timeoutMs;
    const limit = memoryLimitBytes(spec);
    const memory =
      limit === undefined || spec.compute.mem === null
        ? undefined
        : { limit, written: spec.compute.mem, peak: 0 };
    let cgroup: ReplicaCgroup | undefined;
    let replica: Replica;
    try {
      if (user instanceof Error) throw user;
      cgroup = ReplicaCgroup.create(this.#cgroups, id, {
        memoryBytes: limit,
        cpus: cpuQuotaApplies(this.#enforcement(), launch.cpuWritten) ? cpuLimit(spec) : undefined,
      });
      const launcher = this.#sandbox.launcher({
        home: this.#options.home,
        projectDir,
        python,
        uid: user === undefined ? this.#sandboxUid(apiName) : undefined,
        user,
        cgroupProcs: cgroup?.procsFiles ?? [],
      });
      replica = Replica.start({
        ...fromSpec,
        id,
        apiName,
        projectDir,
        // predictor.env wins over forwarded credentials: it is what the user wrote for this API.
        env: { ...secretEnv, ...spec.predictor.env },
        python,
        runDir: this.#runDir,
        logFile: this.logs.fileFor(apiName),
        ...(launcher === undefined ? {} : { launcher }),
      });
    } catch (error) {
      // Nothing runs: a failure of the version like a replica that crashed at start (rolled back
      // after FAILURES_BEFORE_ROLLBACK), never an apply error retried forever.
      this.#removeCgroup(cgroup);
      const message = error instanceof Error ? error.message : String(error);
      this.#recordFailure(apiName, versionId, id, `replica ${id} could not be started: ${message}`);
      queueMicrotask(() => this.#changed(apiName));
      return;
    }
    const observed: ObservedReplica = {
      id,
      versionId,
      phase: "starting",
      startedAt: this.#now(),
    };
    const entry: Entry = { observed, apiName, memory, runtimeKey: key, replica, timeoutMs, cgroup };
    this.#replicas.set(id, entry);
    const pids = replica.pids();
    this.#workers.record(id, apiName, pids);
    this.#options.events.emit({
      kind: "replica.starting",
      api: apiName,
      replicaId: id,
      versionId,
      pids,
    });

    // Keep the recorded PIDs current, so a restarted daemon can find every worker after a crash.
    replica.onWorkerReplaced((pids) => this.#workers.record(id, apiName, pids));
    replica.onExit((info) => {
      if (!this.#replicas.has(id) || entry.observed.phase === "stopping") return;
      // The replica's own words: which worker, how it ended, and why that failed the replica
      // (e.g. the fourth death within a minute) rather than getting a replacement.
      this.#fail(entry, info.message);
    });
    replica.ready.then(
      () => {
        if (entry.observed.phase !== "starting") return;
        // Not ready if its workers already hold more than compute.mem (measured where no cgroup
        // enforces it): a predictor that allocates in __init__ fails its start, as on ECS.
        const over = entry.cgroup?.limitsMemory === true ? undefined : this.#overMemory(entry);
        if (over !== undefined) {
          this.#fail(entry, over);
          return;
        }
        entry.observed.phase = "ready";
        this.#readyCache.delete(apiName);
        const failure = this.#failures.get(apiName);
        if (failure?.versionId === versionId) this.#failures.delete(apiName);
        const seconds = (this.#now() - observed.startedAt) / 1000;
        this.#lastStartMs.set(apiName, seconds * 1000);
        this.#options.events.emit({ kind: "replica.ready", api: apiName, replicaId: id, seconds });
        // Requests held while the API started from zero go to it now.
        this.#waking.delete(apiName);
        this.gateway.releaseHeld(apiName);
        this.#changed(apiName);
      },
      (error: unknown) => {
        if (entry.observed.phase !== "starting") return;
        this.#fail(entry, error instanceof Error ? error.message : String(error));
      },
    );
  }

  /**
   * How a worker of a batch job (issue 32) is started: as a realtime replica's workers are — the
   * API's Python environment, its sandbox and its cgroup (`compute.mem`, `compute.cpu`) — for
   * `WorkerPool` (processes 1) to spawn. Its PIDs are recorded with the replicas' (`recordPids`),
   * so a daemon that was killed stops them at its next start. `release` removes the cgroup and the
   * record once the worker is gone.
   */
  async batchWorkerLaunch(request: {
    apiName: string;
    /** Unique among live replicas and workers; names the socket and the cgroup. */
    workerId: string;
    spec: BatchApiSpec;
    bundle: string;
    artifact: Artifact;
    secretEnv: Record<string, string>;
    /** The job's log file (its workers' stdout and stderr). */
    logFile: string;
    /**
     * The job's output folder, made here (0700) and the one place of the host a sandboxed worker
     * may write to (`AXON_JOB_OUTPUT_DIR`); Axon names it, never a request.
     */
    outputDir: string;
  }): Promise<BatchWorkerLaunch> {
    const { apiName, workerId, spec } = request;
    const projectDir = await this.#options.projectDir(request.bundle);
    const python = await this.#pythonFor(request.artifact, projectDir);
    // The worker runs as the API's own account where replicas do (root daemons with host users).
    const user =
      this.#hostUserReady(apiName, projectDir, python) ??
      (await this.#hostUserFor(apiName, projectDir, python));
    if (user instanceof Error) throw user;
    const cpuWritten = parseLocalArtifact(request.artifact).cpuWritten === true;
    const cgroup = ReplicaCgroup.create(this.#cgroups, workerId, {
      memoryBytes: memoryLimitBytes(spec),
      cpus: cpuQuotaApplies(this.#enforcement(), cpuWritten) ? cpuLimit(spec) : undefined,
    });
    mkdirSync(request.outputDir, { recursive: true, mode: 0o700 });
    if (user !== undefined) chownSync(request.outputDir, user.uid, user.gid);
    const launcher = this.#sandbox.launcher({
      home: this.#options.home,
      projectDir,
      python,
      uid: user === undefined ? this.#sandboxUid(apiName) : undefined,
      user,
      cgroupProcs: cgroup?.procsFiles ?? [],
      writable: [request.outputDir],
    });
    return {
      pool: {
        id: workerId,
        apiName,
        projectDir,
        predictorPath: spec.predictor.path,
        ...(spec.predictor.python_path === null ? {} : { pythonPath: spec.predictor.python_path }),
        // predictor.env wins over forwarded credentials, as for a replica.
        env: {
          ...request.secretEnv,
          ...spec.predictor.env,
          AXON_JOB_OUTPUT_DIR: request.outputDir,
        },
        python,
        runDir: this.#runDir,
        logFile: request.logFile,
        ...(launcher === undefined ? {} : { launcher }),
      },
      recordPids: (pids) => this.#workers.record(workerId, apiName, pids),
      oomKills: () => cgroup?.oomKills() ?? 0,
      release: async () => {
        this.#workers.forget(workerId);
        await cgroup?.remove();
      },
    };
  }

  /**
   * Records a replica's failure once. A replica that fails while starting reports it twice — its
   * exit listener runs first, then `ready` rejects — so the second call finds it gone and returns.
   */
  #fail(entry: Entry, message: string): void {
    const { apiName } = entry;
    const { versionId, id } = entry.observed;
    if (this.#replicas.get(id) !== entry) return;
    this.#replicas.delete(id);
    this.#readyCache.delete(apiName);
    this.#failing.add(entry);
    this.#workers.forget(id);
    this.#recordFailure(apiName, versionId, id, this.#failureReason(entry, message));
    // Stop whatever is left of it (sibling workers of a dead one).
    this.#inBackground(
      entry.replica.stop(0).finally(() => {
        this.#removeCgroup(entry.cgroup);
        this.#failing.delete(entry);
        addToTotals(this.#retiredStats, apiName, entry.replica.requestStats());
        this.#changed(apiName);
      }),
    );
  }

  #removeCgroup(cgroup: ReplicaCgroup | undefined): void {
    if (cgroup !== undefined) this.#inBackground(cgroup.remove());
  }

  /** Clean-up not awaited where it starts; `shutdown` waits for it before removing parents. */
  #inBackground(work: Promise<unknown>): void {
    const tracked: Promise<void> = work
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => this.#background.delete(tracked));
    this.#background.add(tracked);
  }

  /** Counts a failure of `versionId`'s replicas (consecutive ones roll the version back). */
  #recordFailure(apiName: string, versionId: string, replicaId: string, message: string): void {
    const previous = this.#failures.get(apiName);
    const count = previous?.versionId === versionId ? previous.count + 1 : 1;
    this.#failures.set(apiName, { versionId, count, lastAt: this.#now(), message });
    this.#options.events.emit({
      kind: "replica.failed",
      api: apiName,
      replicaId,
      versionId,
      reason: message,
    });
    // Requests held while this API started from zero would wait for nothing: tell them now.
    const failed = this.#failedColdStart(apiName);
    if (failed !== undefined) this.gateway.failHeld(apiName, failed);
  }

  /**
   * The API's host account with its project and environment opened to it (root daemons with
   * host users); an Error fails the replicas that would have run as it, with the reason.
   */
  #hostUserReady(apiName: string, projectDir: string, python: string): HostUser | undefined {
    return this.#hostUsers?.preparedUser(
      apiName,
      homeFoldersOf(this.#options.home, projectDir, python),
    );
  }

  async #hostUserFor(
    apiName: string,
    projectDir: string,
    python: string,
  ): Promise<HostUser | Error | undefined> {
    if (this.#hostUsers === undefined) return undefined;
    try {
      return await this.#hostUsers.prepare(
        apiName,
        homeFoldersOf(this.#options.home, projectDir, python),
      );
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  /** The API's uid in its sandbox when the daemon is root (see sandbox.ts); else its own. */
  #sandboxUid(apiName: string): number | undefined {
    if (!this.#sandbox.enabled || process.getuid?.() !== 0) return undefined;
    const file = path.join(this.#options.home, "sandbox-uids.json");
    return sandboxUidFor(file, apiName, (text) => writeFileSync(file, text, { mode: 0o600 }));
  }

  async #stopReplica(entry: Entry, graceMs: number): Promise<void> {
    const { id } = entry.observed;
    entry.observed.phase = "stopping";
    this.#readyCache.delete(entry.apiName);
    try {
      await entry.replica.stop(graceMs);
    } finally {
      await entry.cgroup?.remove();
      if (this.#replicas.delete(id)) {
        addToTotals(this.#retiredStats, entry.apiName, entry.replica.requestStats());
      }
      this.#workers.forget(id);
      this.#options.events.emit({ kind: "replica.stopped", api: entry.apiName, replicaId: id });
      this.#changed(entry.apiName);
    }
  }

  /** Stops Python workers a previous daemon left behind (it was killed before it could). */
  #stopOrphanWorkers(): void {
    for (const worker of this.#workers.list()) {
      const cmdline = readProcFile(`/proc/${worker.pid}/cmdline`);
      if (!cmdline.includes("axon_runtime")) continue;
      try {
        process.kill(worker.pid, "SIGKILL");
        this.#options.events.emit({
          kind: "worker.orphan_stopped",
          api: worker.apiName,
          replicaId: worker.replicaId,
          pid: worker.pid,
        });
      } catch {
        // Already gone.
      }
    }
    this.#workers.clear();
  }
}

function readProcFile(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

/** Resolves when `signal` aborts (never, if it does not). */
function abortedPromise(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}

/** A socket directory short enough for Unix socket paths, under `home` when it fits. */
export function chooseRunDir(home: string): string {
  const preferred = path.join(home, "run");
  // "/r-abcdef-w0.sock" is < 24 bytes; sun_path allows 107.
  if (Buffer.byteLength(preferred) <= 80) return preferred;
  return path.join("/tmp", `axon-${createHash("sha256").update(home).digest("hex").slice(0, 12)}`);
}
