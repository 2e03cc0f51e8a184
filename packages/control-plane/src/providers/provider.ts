/**
 * The seam between the reconciler and where replicas run. The reconciler decides *what* should run
 * (from desired state in the store); a provider only starts, stops, routes and reports. The local
 * provider runs replicas as processes on this machine; the ECS provider (later) maps the same calls
 * onto ECS services. Providers never read the store's desired state themselves.
 */
import type { ApiSpec } from "@axon/config";

export type ReplicaPhase = "starting" | "ready" | "stopping";

export interface ObservedReplica {
  id: string;
  apiName: string;
  versionId: string;
  phase: ReplicaPhase;
  pids: number[];
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

export interface ReplicaPlan {
  apiName: string;
  versionId: string;
  spec: ApiSpec;
  projectDir: string;
  /** The interpreter the workers run (the version's environment, or the base interpreter). */
  python: string;
  /** Environment variables beyond `predictor.env` (forwarded credentials); never logged. */
  secretEnv: Record<string, string>;
}

export interface Provider {
  listReplicas(apiName: string): ObservedReplica[];
  /** Names of every API that has replicas (to find ones whose API no longer exists). */
  apiNamesWithReplicas(): string[];
  lastFailure(apiName: string): ReplicaFailure | undefined;
  createReplica(plan: ReplicaPlan): ObservedReplica;
  deleteReplica(id: string): Promise<void>;
  /** Routes `endpoint` to the API's ready replicas (replacing any previous endpoint of the API). */
  setRoute(apiName: string, endpoint: string): void;
  removeRoute(apiName: string): void;
  forget(apiName: string): void;
  /** Called whenever something observable about an API's replicas changed. */
  onChange(listener: (apiName: string) => void): void;
  shutdown(): Promise<void>;
}
