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
  scalingReason,
  type ScalingDecision,
} from "./autoscaler.js";

export interface AutoscalerLoopDeps {
  store: Pick<StateStore, "listApis" | "setRequested">;
  metrics: Pick<MetricsSource, "inFlightSamples">;
  events: EventSink;
  enqueue: (apiName: string) => void;
}

interface ApiLoop {
  versionId: string;
  scaler: Autoscaler;
  last: ScalingDecision | undefined;
  /** The last decision that changed the count, in words, and when. */
  lastChange: { at: number; message: string } | undefined;
}

export class AutoscalerLoop {
  readonly #deps: AutoscalerLoopDeps;
  readonly #loops = new Map<string, ApiLoop>();

  constructor(deps: AutoscalerLoopDeps) {
    this.#deps = deps;
  }

  /** One tick for every API (call every AUTOSCALER_TICK_MS). */
  tick(now: number): void {
    const { store, metrics, events, enqueue } = this.#deps;
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
        };
        this.#loops.set(api.name, loop);
      }
      const { params } = loop.scaler;
      const avg = averageInFlight(metrics.inFlightSamples(api.name, now - params.windowMs));
      const decision = loop.scaler.tick(now, api.requested, avg);
      if (decision === undefined) continue;
      loop.last = decision;
      if (decision.request === api.requested) continue;
      store.setRequested(api.name, decision.request);
      const because = scalingReason(decision, params);
      events.emit({
        kind: "api.scaled",
        api: api.name,
        from: api.requested,
        to: decision.request,
        because,
      });
      const direction = decision.request > api.requested ? "up" : "down";
      loop.lastChange = {
        at: now,
        message: `scaled ${direction} ${api.requested} → ${decision.request}: ${because}`,
      };
      enqueue(api.name);
    }
    for (const name of this.#loops.keys()) if (!seen.has(name)) this.#loops.delete(name);
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
