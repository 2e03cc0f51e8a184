/**
 * Runs the autoscaler for every API whose engine reports in-flight samples (the local provider;
 * on ECS, Application Auto Scaling does this job): one tick per API every 10 s, a new loop per
 * version (as Cortex recreated its loop on every deploy, restarting the stabilization periods),
 * and a decision that changes the count is written to the store, told as an `api.scaled` event
 * and reconciled. The last decision of each API — a change, or one held back — is kept for
 * `axon get`.
 */
import type { ApiAutoscaling } from "../contract/index.js";
import type { EventSink } from "../events/event-sink.js";
import type { MetricsSource } from "../metrics/api-metrics.js";
import type { StateStore } from "../state/store.js";
import {
  Autoscaler,
  autoscalingParams,
  averageInFlight,
  describeHeld,
  describeScaleToZero,
  describeWake,
  scalingReason,
  scaleToZeroAfterMs,
  type ScalingDecision,
} from "./autoscaler.js";

export interface AutoscalerLoopDeps {
  store: Pick<StateStore, "listApis" | "setRequested">;
  metrics: Pick<MetricsSource, "inFlightSamples" | "apiRequestStats">;
  events: EventSink;
  enqueue: (apiName: string) => void;
}

interface ApiLoop {
  versionId: string;
  scaler: Autoscaler;
  last: ScalingDecision | undefined;
  /** The last decision that changed the count, in words, and when. */
  lastChange: { at: number; message: string } | undefined;
  /** The API's request count at the last tick, and since when it has not moved (scale to zero). */
  requests: { count: number; since: number } | undefined;
}

export class AutoscalerLoop {
  readonly #deps: AutoscalerLoopDeps;
  readonly #loops = new Map<string, ApiLoop>();

  constructor(deps: AutoscalerLoopDeps) {
    this.#deps = deps;
  }

  /** One tick for every API (call every AUTOSCALER_TICK_MS). */
  tick(now: number): void {
    const { store, metrics } = this.#deps;
    const seen = new Set<string>();
    for (const api of store.listApis()) {
      seen.add(api.name);
      const versionId = api.currentVersion.id;
      let loop = this.#loops.get(api.name);
      if (loop?.versionId !== versionId) {
        loop = {
          versionId,
          scaler: new Autoscaler(autoscalingParams(api.currentVersion.spec)),
          last: undefined,
          lastChange: loop?.lastChange,
          requests: loop?.requests,
        };
        this.#loops.set(api.name, loop);
      }
      const { params } = loop.scaler;
      // At zero, nothing is measured and nothing is decided here: a request wakes the API (the
      // gateway holds it and asks for a replica).
      if (api.requested === 0) continue;
      const avg = averageInFlight(metrics.inFlightSamples(api.name, now - params.windowMs));
      const idle = this.#idleFor(loop, api.name, avg ?? 0, now);
      const zeroAfter = scaleToZeroAfterMs(api.currentVersion.spec);
      if (zeroAfter !== undefined && idle >= zeroAfter) {
        this.#scale(api.name, api.requested, 0, describeScaleToZero(idle, zeroAfter), now, loop);
        continue;
      }
      const decision = loop.scaler.tick(now, api.requested, avg);
      if (decision === undefined) continue;
      loop.last = decision;
      if (decision.request === api.requested) continue;
      this.#scale(
        api.name,
        api.requested,
        decision.request,
        scalingReason(decision, params),
        now,
        loop,
      );
    }
    for (const name of this.#loops.keys()) if (!seen.has(name)) this.#loops.delete(name);
  }

  /** Writes a new count, tells it as an `api.scaled` event, and reconciles the API. */
  #scale(
    name: string,
    from: number,
    to: number,
    because: string,
    now: number,
    loop: ApiLoop | undefined,
  ): void {
    const { store, events, enqueue } = this.#deps;
    store.setRequested(name, to);
    events.emit({ kind: "api.scaled", api: name, from, to, because });
    const direction = to > from ? "up" : "down";
    // To and from zero the reason already names the count ("→ 0 replicas", "→ 1 replica").
    const message =
      to === 0 || from === 0 ? because : `scaled ${direction} ${from} → ${to}: ${because}`;
    if (loop !== undefined) loop.lastChange = { at: now, message };
    enqueue(name);
  }

  /** How long the API has had no new request and nothing in flight (ms; 0 while it is busy). */
  #idleFor(loop: ApiLoop, name: string, avgInFlight: number, now: number): number {
    const count = this.#deps.metrics.apiRequestStats(name).count;
    if (loop.requests === undefined || loop.requests.count !== count || avgInFlight > 0) {
      loop.requests = { count, since: now };
      return 0;
    }
    return now - loop.requests.since;
  }

  /** Wakes an API at zero for a request the gateway holds: one replica, reconciled now. */
  wake(name: string, now: number): boolean {
    const { store } = this.#deps;
    const api = store.listApis().find((candidate) => candidate.name === name);
    if (api === undefined || api.requested !== 0) return false;
    const loop = this.#loops.get(name);
    // What the API decided before it slept says nothing about the load that woke it.
    if (loop !== undefined) loop.last = undefined;
    if (loop !== undefined) loop.requests = undefined;
    this.#scale(name, 0, 1, describeWake(new Date(now).toISOString()), now, loop);
    return true;
  }

  /** What `axon get <api>` says about the API's autoscaling (undefined: no tick yet). */
  status(apiName: string): ApiAutoscaling | undefined {
    const loop = this.#loops.get(apiName);
    if (loop === undefined) return undefined;
    const status: ApiAutoscaling = {};
    const last = loop.last;
    if (last !== undefined) {
      status.avgInFlight = Math.round(last.avgInFlight * 100) / 100;
      status.recommendation = last.recommendation;
      const held = describeHeld(last);
      if (held !== undefined) status.pending = held;
    }
    if (loop.lastChange !== undefined) {
      status.lastScaled = {
        at: new Date(loop.lastChange.at).toISOString(),
        message: loop.lastChange.message,
      };
    }
    return status;
  }
}
