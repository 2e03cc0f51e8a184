/**
 * Converges one API to its desired state (level-based: it reads the store and the provider every
 * time and never relies on the event that triggered it). It decides *what* runs; the provider
 * decides *how* (see providers/provider.ts).
 *
 * - No API in the store: the provider removes everything of it.
 * - Otherwise the provider is handed the current version, its replica count and its credentials.
 * - Once every requested replica of the current version is ready and nothing older is left, the
 *   version is recorded as the API's live one (the one a failed rollout falls back to), with a
 *   `rollout.finished` event.
 */
import type { EventSink } from "../events/event-sink.js";
import type { DesiredApi, Provider } from "../providers/provider.js";
import type { SecretStore } from "../state/secrets.js";
import type { StateStore } from "../state/store.js";
import type { ReconcileResult } from "./work-queue.js";

export interface ApiReconcilerDeps {
  store: StateStore;
  secrets: Pick<SecretStore, "get">;
  provider: Provider;
  events: EventSink;
  now?: () => Date;
}

export function makeApiReconciler(deps: ApiReconcilerDeps) {
  const now = deps.now ?? ((): Date => new Date());
  return async function reconcileApi(
    apiName: string,
    signal: AbortSignal,
  ): Promise<ReconcileResult> {
    const { store, provider } = deps;
    const api = store.getApi(apiName);
    if (api === undefined) {
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
    const result = await provider.apply(desired, signal);

    if (api.liveVersionId !== version.id) {
      const { replicas } = provider.observe(apiName);
      const settled = replicas.every((r) => r.versionId === version.id && r.phase === "ready");
      if (settled && replicas.length >= api.requested) {
        const at = now();
        store.setLiveVersion(apiName, version.id, at);
        const seconds = Math.max(0, (at.getTime() - Date.parse(version.createdAt)) / 1000);
        deps.events.emit({
          kind: "rollout.finished",
          api: apiName,
          versionId: version.id,
          seconds,
        });
      }
    }
    return result;
  };
}
