/**
 * Converges one API to its desired state (level-based: it reads the store and the provider every
 * time and never relies on the event that triggered it). It decides *what* runs; the provider
 * decides *how* (see providers/provider.ts).
 *
 * - No API in the store: the provider removes everything of it.
 * - Otherwise the provider is handed the current version, its replica count and its credentials.
 * - Once every requested replica of the current version is ready and nothing older is left, the
 *   version is recorded as the API's live one, with a `rollout.finished` event.
 * - A rollout that fails — the new version's replicas failed `FAILURES_BEFORE_ROLLBACK` times in a
 *   row, or it is not live `rolloutTimeoutMs` after it started — is rolled back: the live version
 *   becomes current again (durably, so a restarted daemon starts that one) and the API says why.
 *   A first version has nothing to fall back to: it keeps retrying with backoff and says `error`.
 */
import { formatDuration } from "@axon/config";
import type { EventSink } from "../events/event-sink.js";
import type { DesiredApi, ObservedApi, Provider } from "../providers/provider.js";
import type { SecretStore } from "../state/secrets.js";
import type { ApiRecord, StateStore } from "../state/store.js";
import type { ReconcileResult } from "./work-queue.js";

/** Consecutive failures of a new version's replicas that roll it back. */
export const FAILURES_BEFORE_ROLLBACK = 3;
/** Default of `AXON_ROLLOUT_TIMEOUT`: how long a new version may take to become live. */
export const DEFAULT_ROLLOUT_TIMEOUT_MS = 10 * 60_000;

export interface ApiReconcilerDeps {
  store: StateStore;
  secrets: Pick<SecretStore, "get">;
  provider: Provider;
  events: EventSink;
  /** How long a rollout may take before it is rolled back (default DEFAULT_ROLLOUT_TIMEOUT_MS). */
  rolloutTimeoutMs?: number;
  /**
   * APIs found in the store when the daemon started: each gets an `api.recovered` event the first
   * time it is back (all its replicas ready), and leaves the set.
   */
  resuming?: Set<string>;
  now?: () => Date;
}

export function makeApiReconciler(deps: ApiReconcilerDeps) {
  const now = deps.now ?? ((): Date => new Date());
  const timeoutMs = deps.rolloutTimeoutMs ?? DEFAULT_ROLLOUT_TIMEOUT_MS;
  const startedAt = now();
  const resuming = deps.resuming ?? new Set<string>();
  /** `api@version` of the rollouts already announced in this daemon run. */
  const announced = new Set<string>();

  return async function reconcileApi(
    apiName: string,
    signal: AbortSignal,
  ): Promise<ReconcileResult> {
    const { store, provider, events } = deps;
    const api = store.getApi(apiName);
    if (api === undefined) {
      resuming.delete(apiName);
      await provider.remove(apiName, signal);
      return {};
    }
    const version = api.currentVersion;
    const desired: DesiredApi = {
      name: apiName,
      version: {
        id: version.id,
        spec: version.spec,
        bundle: version.bundle,
        artifact: version.artifact,
      },
      replicas: api.requested,
      secretEnv: deps.secrets.get(apiName),
    };
    if (api.liveVersionId !== version.id && !announced.has(`${apiName}@${version.id}`)) {
      announced.add(`${apiName}@${version.id}`);
      const { max_surge: maxSurge, max_unavailable: maxUnavailable } = version.spec.update_strategy;
      events.emit({
        kind: "rollout.started",
        api: apiName,
        versionId: version.id,
        replicas: api.requested,
        maxSurge,
        maxUnavailable,
      });
    }
    const result = await provider.apply(desired, signal);
    const observed = provider.observe(apiName);
    const at = now();

    if (isSettled(api, observed)) {
      if (api.liveVersionId !== version.id) {
        announced.delete(`${apiName}@${version.id}`);
        store.setLiveVersion(apiName, version.id, at);
        const seconds = Math.max(0, (at.getTime() - Date.parse(api.updatedAt)) / 1000);
        events.emit({ kind: "rollout.finished", api: apiName, versionId: version.id, seconds });
      }
      if (resuming.delete(apiName)) {
        events.emit({
          kind: "api.recovered",
          api: apiName,
          versionId: version.id,
          replicas: api.requested,
          seconds: (at.getTime() - startedAt.getTime()) / 1000,
        });
      }
      return result;
    }
    if (api.liveVersionId === null || api.liveVersionId === version.id) return result;

    // A rollout in progress: roll it back if it failed, else look again by its deadline.
    const failure = observed.failure;
    const deadline = Date.parse(api.updatedAt) + timeoutMs;
    let reason: string | undefined;
    if (failure?.versionId === version.id && failure.count >= FAILURES_BEFORE_ROLLBACK) {
      reason = `its replicas failed ${failure.count} times in a row (last: ${failure.message})`;
    } else if (at.getTime() >= deadline) {
      reason = `it was not live within ${formatDuration(timeoutMs)} (AXON_ROLLOUT_TIMEOUT)`;
    }
    if (reason === undefined) {
      const untilDeadline = deadline - at.getTime();
      return { requeueAfterMs: Math.min(result.requeueAfterMs ?? untilDeadline, untilDeadline) };
    }
    rollBack(deps, api, api.liveVersionId, reason, at);
    return { requeueAfterMs: 0 };
  };
}

/** Every requested replica runs the current version and is ready, and nothing else runs. */
function isSettled(api: ApiRecord, observed: ObservedApi): boolean {
  const replicas = observed.replicas.filter((r) => r.phase !== "stopping");
  return (
    replicas.length >= api.requested &&
    replicas.every((r) => r.versionId === api.currentVersion.id && r.phase === "ready")
  );
}

function rollBack(
  deps: ApiReconcilerDeps,
  api: ApiRecord,
  liveVersionId: string,
  reason: string,
  at: Date,
): void {
  const live = deps.store.getVersion(liveVersionId);
  if (live === undefined) return;
  const { min_replicas: min, max_replicas: max } = live.spec.autoscaling;
  const requested = Math.min(max, Math.max(min, api.requested));
  deps.store.setCurrentVersion(api.name, live.id, requested, at, {
    failedVersionId: api.currentVersion.id,
    reason,
    at: at.toISOString(),
  });
  deps.events.emit({
    kind: "rollout.rolled_back",
    api: api.name,
    versionId: api.currentVersion.id,
    toVersionId: live.id,
    reason,
  });
}
