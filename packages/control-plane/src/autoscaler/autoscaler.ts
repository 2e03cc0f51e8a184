/**
 * Cortex's replica autoscaler (v0.42 rules; ../../../shared/reference/cortex.md §2), as a pure,
 * deterministic module with the clock passed in: one `tick` per API every 10 s turns the API's
 * average in-flight requests over `window` into a requested replica count.
 *
 *   raw = avg / target_replica_concurrency;  rec = ceil(raw)
 *   inside the tolerance band around the current count → stay
 *   at most ×max_upscale_factor up / ×max_downscale_factor down per tick (always ±1 allowed)
 *   clamp to [min_replicas, max_replicas]
 *   downscale: not before `downscale_stabilization_period` since the loop started, and never
 *     below the highest recommendation of that period (clamped to current); upscale likewise with
 *     the lowest recommendation of `upscale_stabilization_period` (the direction-guarded v0.28
 *     fix, not the v0.20 bug that let the upscale ceiling force a downscale).
 *
 * Cortex recreates the loop (and so restarts the stabilization periods) on every deploy and
 * operator restart; Axon does the same: a new `Autoscaler` per API version and daemon start.
 * Every decision explains itself, including one held back, so `axon get` can say why.
 */
import { formatDuration, parseDuration, type ApiSpec } from "@axon/config";

export interface AutoscalingParams {
  minReplicas: number;
  maxReplicas: number;
  targetReplicaConcurrency: number;
  windowMs: number;
  downscaleStabilizationMs: number;
  upscaleStabilizationMs: number;
  maxDownscaleFactor: number;
  maxUpscaleFactor: number;
  downscaleTolerance: number;
  upscaleTolerance: number;
}

/** The autoscaler's ticks are 10 s apart, as Cortex's are. */
export const AUTOSCALER_TICK_MS = 10_000;

export function autoscalingParams(spec: ApiSpec): AutoscalingParams {
  const a = spec.autoscaling;
  return {
    // Cortex's algorithm never goes below one: scaling to zero is the idle rule's
    // (`idleToZero`), only for an API with min_replicas 0, and a request brings it back.
    minReplicas: Math.max(1, a.min_replicas),
    maxReplicas: a.max_replicas,
    targetReplicaConcurrency: a.target_replica_concurrency,
    windowMs: parseDuration(a.window),
    downscaleStabilizationMs: parseDuration(a.downscale_stabilization_period),
    upscaleStabilizationMs: parseDuration(a.upscale_stabilization_period),
    maxDownscaleFactor: a.max_downscale_factor,
    maxUpscaleFactor: a.max_upscale_factor,
    downscaleTolerance: a.downscale_tolerance,
    upscaleTolerance: a.upscale_tolerance,
  };
}

/** What bounded the recommendation this tick, beyond the load itself. */
export type ScalingLimit =
  "tolerance" | "max_upscale_factor" | "max_downscale_factor" | "min_replicas" | "max_replicas";

export interface ScalingDecision {
  /** Epoch ms of the tick. */
  at: number;
  /** The requested count before the tick. */
  current: number;
  avgInFlight: number;
  /** What the load asks for after tolerance, factors and min/max (before stabilization). */
  recommendation: number;
  limitedBy: ScalingLimit | undefined;
  /** The count to request now (equal to `current`: no change). */
  request: number;
  /** Set when stabilization keeps `request` away from `recommendation`: until when, at most. */
  heldBy: { period: "downscale" | "upscale"; periodMs: number; leftMs: number } | undefined;
}

export class Autoscaler {
  #params: AutoscalingParams;
  readonly #recs: Array<{ at: number; rec: number }> = [];
  #startTime: number | undefined;

  constructor(params: AutoscalingParams) {
    this.#params = params;
  }

  get params(): AutoscalingParams {
    return this.#params;
  }

  /**
   * One tick. `avgInFlight` is the API-wide average over the window; null when there are no
   * metrics yet (no decision, as Cortex skips the tick).
   */
  tick(now: number, current: number, avgInFlight: number | null): ScalingDecision | undefined {
    const p = this.#params;
    this.#startTime ??= now;
    if (avgInFlight === null) return undefined;

    const raw = avgInFlight / p.targetReplicaConcurrency;
    let rec = Math.ceil(raw);
    let limitedBy: ScalingLimit | undefined;
    if (
      (raw < current && raw > current * (1 - p.downscaleTolerance)) ||
      (raw > current && raw < current * (1 + p.upscaleTolerance))
    ) {
      if (rec !== current) limitedBy = "tolerance";
      rec = current;
    }
    const floor = Math.min(current - 1, Math.ceil(current * p.maxDownscaleFactor));
    if (rec < floor) [rec, limitedBy] = [floor, "max_downscale_factor"];
    const ceiling = Math.max(current + 1, Math.ceil(current * p.maxUpscaleFactor));
    if (rec > ceiling) [rec, limitedBy] = [ceiling, "max_upscale_factor"];
    if (rec < p.minReplicas) [rec, limitedBy] = [p.minReplicas, "min_replicas"];
    if (rec > p.maxReplicas) [rec, limitedBy] = [p.maxReplicas, "max_replicas"];

    this.#recs.push({ at: now, rec });
    const keep = Math.max(p.downscaleStabilizationMs, p.upscaleStabilizationMs);
    while (this.#recs.length > 0 && now - (this.#recs[0]?.at ?? now) > keep) this.#recs.shift();

    let request = rec;
    let heldBy: ScalingDecision["heldBy"];
    const running = now - this.#startTime;
    if (request < current) {
      const periodMs = p.downscaleStabilizationMs;
      if (running < periodMs) {
        request = current;
        heldBy = { period: "downscale", periodMs, leftMs: this.#startTime + periodMs - now };
      } else {
        const highest = this.#extremeSince(now, periodMs, Math.max);
        const bound = highest === undefined ? undefined : Math.min(highest, current);
        if (bound !== undefined && request < bound) {
          request = bound;
          heldBy = {
            period: "downscale",
            periodMs,
            leftMs: this.#leftMs(now, periodMs, (r) => r > rec),
          };
        }
      }
    }
    if (request > current) {
      const periodMs = p.upscaleStabilizationMs;
      if (running < periodMs) {
        request = current;
        heldBy = { period: "upscale", periodMs, leftMs: this.#startTime + periodMs - now };
      } else {
        const lowest = this.#extremeSince(now, periodMs, Math.min);
        const bound = lowest === undefined ? undefined : Math.max(lowest, current);
        if (bound !== undefined && request > bound) {
          request = bound;
          heldBy = {
            period: "upscale",
            periodMs,
            leftMs: this.#leftMs(now, periodMs, (r) => r < rec),
          };
        }
      }
    }
    return { at: now, current, avgInFlight, recommendation: rec, limitedBy, request, heldBy };
  }

  #extremeSince(
    now: number,
    periodMs: number,
    pick: (a: number, b: number) => number,
  ): number | undefined {
    let result: number | undefined;
    for (const { at, rec } of this.#recs) {
      if (now - at <= periodMs) result = result === undefined ? rec : pick(result, rec);
    }
    return result;
  }

  /** How long until the recommendations that hold this one back have aged out of the period. */
  #leftMs(now: number, periodMs: number, holds: (rec: number) => boolean): number {
    let left = 0;
    for (const { at, rec } of this.#recs) {
      if (now - at <= periodMs && holds(rec)) left = Math.max(left, at + periodMs - now);
    }
    return left;
  }
}

/**
 * The API-wide average in-flight over a window, as Cortex v0.42 queries it: the sum of every
 * replica's samples divided by the most samples any one replica has (so a replica that lived for
 * part of the window counts for that part). Null when no replica has a sample.
 */
export function averageInFlight(
  samplesPerReplica: ReadonlyArray<readonly number[]>,
): number | null {
  let sum = 0;
  let most = 0;
  for (const samples of samplesPerReplica) {
    for (const value of samples) sum += value;
    most = Math.max(most, samples.length);
  }
  return most === 0 ? null : sum / most;
}

/** Why a decision was made: `avg in-flight 7.8 over 1m0s, target 2 (max ×1.5)`. */
export function scalingReason(decision: ScalingDecision, params: AutoscalingParams): string {
  const signal = `avg in-flight ${round1(decision.avgInFlight)} over ${formatDuration(params.windowMs)}, target ${round1(params.targetReplicaConcurrency)}`;
  return `${signal}${describeLimit(decision, params)}`;
}

/** `scaled up 2 → 4: avg in-flight 7.8 over 1m0s, target 2 (max ×1.5)`. */
export function describeScaling(decision: ScalingDecision, params: AutoscalingParams): string {
  const direction = decision.request > decision.current ? "up" : "down";
  return `scaled ${direction} ${decision.current} → ${decision.request}: ${scalingReason(decision, params)}`;
}

/** `would scale down to 1; waiting for the 5m0s stabilization, 3m12s left` (undefined: not held). */
export function describeHeld(decision: ScalingDecision): string | undefined {
  const held = decision.heldBy;
  if (held === undefined) return undefined;
  const direction = decision.recommendation > decision.current ? "up" : "down";
  return `would scale ${direction} to ${decision.recommendation}; waiting for the ${formatDuration(held.periodMs)} ${held.period} stabilization, ${formatDuration(roundToSecond(held.leftMs))} left`;
}

function describeLimit(decision: ScalingDecision, params: AutoscalingParams): string {
  switch (decision.limitedBy) {
    case "max_upscale_factor":
      return ` (max ×${params.maxUpscaleFactor})`;
    case "max_downscale_factor":
      return ` (max ×${params.maxDownscaleFactor} down)`;
    case "min_replicas":
      return ` (min_replicas ${params.minReplicas})`;
    case "max_replicas":
      return ` (max_replicas ${params.maxReplicas})`;
    case "tolerance":
    case undefined:
      return "";
  }
}

function round1(n: number): string {
  return String(Math.round(n * 10) / 10);
}

function roundToSecond(ms: number): number {
  return Math.ceil(ms / 1000) * 1000;
}

/**
 * Scale to zero (an Axon extension): an API with `min_replicas: 0` goes to zero replicas once it
 * has had no request and nothing in flight for `scale_to_zero_after`; every other API never does.
 * Returns that period in ms, or undefined for an API that may not idle at zero.
 */
export function scaleToZeroAfterMs(spec: ApiSpec): number | undefined {
  const after = spec.autoscaling.scale_to_zero_after;
  return spec.autoscaling.min_replicas === 0 && after !== undefined
    ? parseDuration(after)
    : undefined;
}

/**
 * Why an API went to zero, in the words `get` and `autoscale simulate` both use:
 * `no request for 15m0s → 0 replicas (scale_to_zero_after 15m0s)`.
 */
export function describeScaleToZero(idleMs: number, afterMs: number): string {
  return `no request for ${formatDuration(roundToSecond(idleMs))} → 0 replicas (scale_to_zero_after ${formatDuration(afterMs)})`;
}

/**
 * What woke an API at zero: `woken by a request held at 2026-12-07T19:04:34.000Z → 1 replica`
 * (`heldAt` as the caller tells time: an ISO instant in `get`, the trace's clock in `simulate`).
 */
export function describeWake(heldAt: string): string {
  return `woken by a request held at ${heldAt} → 1 replica`;
}
