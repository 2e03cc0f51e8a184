/**
 * `axon rollback <api> [version]`: makes a version from the API's history current again. Its
 * bundle is kept by hash and its artifact is rebuilt if it was cleaned up, so this is a rollout
 * like any other (by `update_strategy`, rolled back in turn if it fails). Without a version it
 * goes to the newest version, other than the current one, that was ever live.
 */
import type { RollbackResponse } from "../contract/index.js";
import { DomainError } from "../errors.js";
import type { EventSink } from "../events/event-sink.js";
import type { StateStore } from "../state/store.js";
import { requireApi } from "./describe-api.js";
import { ROLLBACK_NO_VERSION } from "../errors.js";
export { ROLLBACK_NO_VERSION } from "../errors.js";

export interface RollbackDeps {
  store: StateStore;
  events: EventSink;
  enqueue: (apiName: string) => void;
  now?: () => Date;
}

/** How far back `axon rollback` looks in an API's history. */
const HISTORY_SEARCHED = 50;

export function rollbackApi(
  deps: RollbackDeps,
  name: string,
  versionId?: string,
): RollbackResponse {
  const api = requireApi(deps, name);
  const history = deps.store.listVersions(api.name, HISTORY_SEARCHED);
  const current = api.currentVersion.id;
  const target =
    versionId === undefined
      ? history.find((v) => v.id !== current && v.liveAt !== null)
      : history.find((v) => v.id === versionId);
  if (target === undefined) {
    const known = history.map((v) => v.id).join(", ");
    throw new DomainError(
      ROLLBACK_NO_VERSION,
      versionId === undefined
        ? `${api.name} has no earlier version that was live to roll back to`
        : `${api.name} has no version ${versionId}`,
      { status: 404, hint: `versions of ${api.name}: ${known}; see \`axon get ${api.name}\`` },
    );
  }
  if (target.id === current) {
    return { message: `${api.name} already runs version ${current}`, versionId: current };
  }
  const { min_replicas: min, max_replicas: max } = target.spec.autoscaling;
  const requested = Math.min(max, Math.max(min, api.requested));
  deps.store.setCurrentVersion(api.name, target.id, requested, (deps.now ?? (() => new Date()))());
  deps.events.emit({
    kind: "rollback.requested",
    api: api.name,
    fromVersionId: current,
    toVersionId: target.id,
  });
  deps.enqueue(api.name);
  return { message: `rolling back ${api.name} to version ${target.id}`, versionId: target.id };
}
