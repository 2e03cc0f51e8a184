/**
 * The local provider: each replica is a replica front in this process plus Python worker processes
 * on this machine, reachable through the local gateway. Worker PIDs are recorded in the store so a
 * daemon restarted after `kill -9` can find and stop anything left behind (workers also exit by
 * themselves when their front's socket closes).
 */
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { DEFAULT_PREDICTOR_TIMEOUT_MS, parseDuration } from "@axon/config";
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
import { Replica } from "../../replica/replica.js";
import type { ApiLogs } from "../../logs/api-logs.js";
import type { StateStore } from "../../state/store.js";
import type { ObservedReplica, Provider, ReplicaFailure, ReplicaPlan } from "../provider.js";
import { Gateway, type GatewayBackend, type RoutableReplica } from "./gateway.js";

export interface LocalProviderOptions {
  store: StateStore;
  logs: ApiLogs;
  /** Where replica sockets live (keep it short: Unix socket paths are limited to ~107 bytes). */
  runDir: string;
  /**
   * How long a replica stopped by a rolling update, scale-down or delete may finish its requests
   * in flight. Default: the API's `predictor.timeout` — a request is never cut before it would
   * have timed out anyway.
   */
  drainGraceMs?: number;
}

/** How long replicas may finish requests when the whole control plane stops (it has 30 s). */
const SHUTDOWN_GRACE_MS = 10_000;

interface Entry {
  observed: ObservedReplica;
  replica: Replica;
  /** The API's per-request timeout: the drain a planned stop gives it. */
  timeoutMs: number;
}

export class LocalProvider implements Provider, GatewayBackend, MetricsSource {
  readonly gateway: Gateway;
  readonly #options: LocalProviderOptions;
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
  readonly #listeners: Array<(apiName: string) => void> = [];

  constructor(options: LocalProviderOptions) {
    this.#options = options;
    this.gateway = new Gateway(this);
    mkdirSync(options.runDir, { recursive: true, mode: 0o700 });
  }

  onChange(listener: (apiName: string) => void): void {
    this.#listeners.push(listener);
  }

  #changed(apiName: string): void {
    for (const listener of this.#listeners) listener(apiName);
  }

  listReplicas(apiName: string): ObservedReplica[] {
    const result: ObservedReplica[] = [];
    for (const entry of this.#replicas.values()) {
      if (entry.observed.apiName === apiName) result.push({ ...entry.observed });
    }
    return result;
  }

  apiNamesWithReplicas(): string[] {
    return [...new Set([...this.#replicas.values()].map((e) => e.observed.apiName))];
  }

  /** Replicas this provider runs now, of every API (starting, ready or stopping). */
  get replicaCount(): number {
    return this.#replicas.size;
  }

  allWorkerPids(): number[] {
    return [...this.#replicas.values()].flatMap((e) => e.replica.pids());
  }

  lastFailure(apiName: string): ReplicaFailure | undefined {
    return this.#failures.get(apiName);
  }

  readyReplicas(apiName: string): RoutableReplica[] {
    const cached = this.#readyCache.get(apiName);
    if (cached !== undefined) return cached;
    const result: RoutableReplica[] = [];
    for (const entry of this.#replicas.values()) {
      if (entry.observed.apiName === apiName && entry.observed.phase === "ready") {
        result.push(entry.replica);
      }
    }
    this.#readyCache.set(apiName, result);
    return result;
  }

  whyNotReady(apiName: string): string {
    const failure = this.#failures.get(apiName);
    if (failure !== undefined)
      return `its replicas keep failing: ${failure.message}; run \`axon logs ${apiName}\``;
    return "its replicas are still starting";
  }

  createReplica(plan: ReplicaPlan): ObservedReplica {
    const { spec } = plan;
    const id = `r-${randomBytes(3).toString("hex")}`;
    const replica = Replica.start({
      id,
      apiName: plan.apiName,
      projectDir: plan.projectDir,
      predictorPath: spec.predictor.path,
      ...(spec.predictor.python_path === undefined || spec.predictor.python_path === null
        ? {}
        : { pythonPath: spec.predictor.python_path }),
      config: spec.predictor.config,
      // predictor.env wins over forwarded credentials: it is what the user wrote for this API.
      env: { ...plan.secretEnv, ...spec.predictor.env },
      python: plan.python,
      processes: spec.predictor.processes_per_replica,
      threads: spec.predictor.threads_per_process,
      maxConcurrency: spec.autoscaling.max_replica_concurrency,
      batching:
        spec.predictor.server_side_batching === null
          ? null
          : {
              maxBatchSize: spec.predictor.server_side_batching.max_batch_size,
              batchIntervalMs: parseDuration(spec.predictor.server_side_batching.batch_interval),
            },
      ...(spec.predictor.timeout === undefined
        ? {}
        : { timeoutMs: parseDuration(spec.predictor.timeout) }),
      runDir: this.#options.runDir,
      logFile: this.#options.logs.fileFor(plan.apiName),
    });
    const observed: ObservedReplica = {
      id,
      apiName: plan.apiName,
      versionId: plan.versionId,
      phase: "starting",
      pids: replica.pids(),
      startedAt: Date.now(),
    };
    const timeoutMs =
      spec.predictor.timeout === undefined
        ? DEFAULT_PREDICTOR_TIMEOUT_MS
        : parseDuration(spec.predictor.timeout);
    const entry: Entry = { observed, replica, timeoutMs };
    this.#replicas.set(id, entry);
    this.#options.store.recordWorkerProcesses(id, plan.apiName, observed.pids);
    this.#options.logs.appendSystemLine(
      plan.apiName,
      `replica ${id} starting (version ${plan.versionId}, worker pids ${observed.pids.join(", ")})`,
    );

    // Keep the recorded PIDs current, so a restarted daemon can find every worker after a crash.
    replica.onWorkerReplaced((pids) => {
      entry.observed.pids = pids;
      this.#options.store.recordWorkerProcesses(id, plan.apiName, pids);
    });
    replica.onExit((info) => {
      if (!this.#replicas.has(id) || entry.observed.phase === "stopping") return;
      // The replica's own words: which worker, how it ended, and why that failed the replica
      // (e.g. the fourth death within a minute) rather than getting a replacement.
      this.#fail(entry, info.message);
    });
    replica.ready.then(
      () => {
        if (entry.observed.phase !== "starting") return;
        entry.observed.phase = "ready";
        this.#readyCache.delete(plan.apiName);
        const failure = this.#failures.get(plan.apiName);
        if (failure?.versionId === plan.versionId) this.#failures.delete(plan.apiName);
        const seconds = ((Date.now() - observed.startedAt) / 1000).toFixed(1);
        this.#options.logs.appendSystemLine(plan.apiName, `replica ${id} is ready (${seconds}s)`);
        this.#changed(plan.apiName);
      },
      (error: unknown) => {
        if (entry.observed.phase !== "starting") return;
        this.#fail(entry, error instanceof Error ? error.message : String(error));
      },
    );
    return { ...observed };
  }

  /**
   * Records a replica's failure once. A replica that fails while starting reports it twice — its
   * exit listener runs first, then `ready` rejects — so the second call finds it gone and returns.
   */
  #fail(entry: Entry, message: string): void {
    const { apiName, versionId, id } = entry.observed;
    if (this.#replicas.get(id) !== entry) return;
    this.#replicas.delete(id);
    this.#readyCache.delete(apiName);
    this.#failing.add(entry);
    this.#options.store.forgetReplicaProcesses(id);
    const previous = this.#failures.get(apiName);
    const count = previous?.versionId === versionId ? previous.count + 1 : 1;
    this.#failures.set(apiName, { versionId, count, lastAt: Date.now(), message });
    this.#options.logs.appendSystemLine(apiName, `replica ${id} failed: ${message}`);
    // Stop whatever is left of it (sibling workers of a dead one).
    void entry.replica.stop(0).finally(() => {
      this.#failing.delete(entry);
      addToTotals(this.#retiredStats, apiName, entry.replica.requestStats());
      this.#changed(apiName);
    });
  }

  deleteReplica(id: string): Promise<void> {
    const entry = this.#replicas.get(id);
    if (entry === undefined) return Promise.resolve();
    return this.#stopReplica(id, entry, this.#options.drainGraceMs ?? entry.timeoutMs);
  }

  async #stopReplica(id: string, entry: Entry, graceMs: number): Promise<void> {
    entry.observed.phase = "stopping";
    this.#readyCache.delete(entry.observed.apiName);
    try {
      await entry.replica.stop(graceMs);
    } finally {
      if (this.#replicas.delete(id)) {
        addToTotals(this.#retiredStats, entry.observed.apiName, entry.replica.requestStats());
      }
      this.#options.store.forgetReplicaProcesses(id);
      this.#options.logs.appendSystemLine(entry.observed.apiName, `replica ${id} stopped`);
      this.#changed(entry.observed.apiName);
    }
  }

  setRoute(apiName: string, endpoint: string): void {
    this.gateway.setRoute(apiName, endpoint);
  }

  removeRoute(apiName: string): void {
    this.gateway.removeRoute(apiName);
  }

  replicaMetrics(): ReplicaMetricsView[] {
    return [...this.#replicas.values()].map((entry) => ({
      apiName: entry.observed.apiName,
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
      if (entry.observed.apiName === apiName) mergeStats(total, entry.replica.requestStats());
    }
    return total;
  }

  metricApiNames(): string[] {
    const failing = [...this.#failing].map((entry) => entry.observed.apiName);
    return [
      ...new Set([...this.#retiredStats.keys(), ...this.gateway.refusedApiNames(), ...failing]),
    ];
  }

  forget(apiName: string): void {
    this.#retiredStats.delete(apiName);
    this.gateway.forgetStats(apiName);
    this.#failures.delete(apiName);
  }

  async shutdown(): Promise<void> {
    const grace = Math.min(this.#options.drainGraceMs ?? SHUTDOWN_GRACE_MS, SHUTDOWN_GRACE_MS);
    await Promise.all(
      [...this.#replicas].map(([id, entry]) => this.#stopReplica(id, entry, grace)),
    );
    await this.gateway.close();
  }
}

/** A socket directory short enough for Unix socket paths, under `home` when it fits. */
export function chooseRunDir(home: string, hashOfHome: string): string {
  const preferred = path.join(home, "run");
  // "/r-abcdef-w0.sock" is < 24 bytes; sun_path allows 107.
  if (Buffer.byteLength(preferred) <= 80) return preferred;
  return path.join("/tmp", `axon-${hashOfHome.slice(0, 12)}`);
}
