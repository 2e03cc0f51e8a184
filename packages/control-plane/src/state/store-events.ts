/**
 * Which events an API keeps in the store (what `axon get <api>` lists under events, bounded per
 * API): deploys, finished rollouts and failures. Replica starts and stops are in its log instead.
 */
import { describeEvent, eventApi, type ControlPlaneEventKind } from "../contract/index.js";
import type { EventSubscriber } from "../events/event-sink.js";
import type { StateStore } from "./store.js";

const STORED_KINDS = new Set<ControlPlaneEventKind>([
  "deploy.recorded",
  "deploy.cancelled",
  "rollout.started",
  "rollout.finished",
  "rollout.rolled_back",
  "rollback.requested",
  "api.scaled",
  "api.resumed",
  "api.recovered",
  "monitoring.shifted",
  "monitoring.stable",
  "replica.failed",
  "reconcile.failed",
]);

export function storeEventSubscriber(store: StateStore): EventSubscriber {
  return (event, time) => {
    const api = eventApi(event);
    if (api === undefined || !STORED_KINDS.has(event.kind)) return;
    // A late report about an API deleted meanwhile must not outlive it.
    if (store.getApi(api) === undefined) return;
    const { level, message } = describeEvent(event);
    store.addEvent(api, { type: level, kind: event.kind, message }, time);
  };
}
