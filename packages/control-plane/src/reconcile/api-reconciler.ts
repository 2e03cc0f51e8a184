/**
 * Converges one API's replicas to its desired state (level-based: it reads the store and the
 * provider every time and never relies on the event that triggered it).
 *
 * - No API in the store: remove its route, stop its replicas.
 * - Run `requested` replicas of the current version; after a crash, wait out an exponential backoff
 *   before starting another (1 s, 2 s, 4 s … 60 s).
 * - Keep older-version replicas serving until the current version has `requested` ready replicas,
 *   then stop them — so a new version that never becomes healthy never takes the API down.
 */
import type { ApiSpec } from "@axon/config";
import type { BundleStore } from "../bundles/bundle-store.js";
import type { Provider } from "../providers/provider.js";
import type { ApiVersionRecord, StateStore } from "../state/store.js";
import type { ReconcileResult } from "./work-queue.js";

const BACKOFF_BASE_MS = 1_000;
const BACKOFF_MAX_MS = 60_000;

/** Delay before restarting after `failures` consecutive crashes. */
export function crashBackoffMs(failures: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, failures - 1));
}

export interface ApiReconcilerDeps {
  store: StateStore;
  bundles: BundleStore;
  provider: Provider;
  /** The interpreter and secret env for a version's replicas (building its environment if needed). */
  prepareRuntime: (
    apiName: string,
    version: ApiVersionRecord,
    projectDir: string,
  ) => Promise<{ python: string; secretEnv: Record<string, string> }>;
  now?: () => number;
}

export function makeApiReconciler(deps: ApiReconcilerDeps) {
  const now = deps.now ?? Date.now;
  return async function reconcileApi(apiName: string): Promise<ReconcileResult> {
    const { store, provider } = deps;
    const api = store.getApi(apiName);
    const replicas = provider.listReplicas(apiName).filter((r) => r.phase !== "stopping");

    if (api === undefined) {
      provider.removeRoute(apiName);
      provider.forget(apiName);
      await Promise.all(replicas.map((r) => provider.deleteReplica(r.id)));
      return {};
    }

    const version = api.currentVersion;
    const spec = version.spec as unknown as ApiSpec;
    provider.setRoute(apiName, spec.networking.endpoint);

    const current = replicas.filter((r) => r.versionId === version.id);
    const stale = replicas.filter((r) => r.versionId !== version.id);
    const requested = api.requested;
    let requeueAfterMs: number | undefined;

    if (current.length < requested) {
      const failure = provider.lastFailure(apiName);
      const waitMs =
        failure?.versionId === version.id
          ? failure.lastAt + crashBackoffMs(failure.count) - now()
          : 0;
      if (waitMs > 0) {
        requeueAfterMs = waitMs;
      } else {
        const projectDir = await deps.bundles.unpack(version.bundle);
        const runtime = await deps.prepareRuntime(apiName, version, projectDir);
        for (let i = current.length; i < requested; i++) {
          provider.createReplica({ apiName, versionId: version.id, spec, projectDir, ...runtime });
        }
      }
    } else if (current.length > requested) {
      // Stop the newest first: they are the least likely to be serving.
      const extra = [...current]
        .sort((a, b) => b.startedAt - a.startedAt)
        .slice(0, current.length - requested);
      await Promise.all(extra.map((r) => provider.deleteReplica(r.id)));
    }

    const readyCurrent = current.filter((r) => r.phase === "ready").length;
    if (stale.length > 0 && readyCurrent >= requested) {
      await Promise.all(stale.map((r) => provider.deleteReplica(r.id)));
    }
    return requeueAfterMs === undefined ? {} : { requeueAfterMs };
  };
}
