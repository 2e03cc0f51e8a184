/**
 * The autoscaler against Cortex's own test vectors (reference/cortex.md §2.4), the stabilization
 * rules, and properties that must hold for any load: never outside [min, max], never beyond the
 * factors, no downscale inside the stabilization period, a constant load converges and stays.
 */
import { describe, expect, test } from "vitest";
import { apiSpec } from "../testing/specs.js";
import {
  AUTOSCALER_TICK_MS,
  Autoscaler,
  autoscalingParams,
  averageInFlight,
  describeHeld,
  describeScaling,
  type AutoscalingParams,
} from "./autoscaler.js";

/** Cortex's defaults with target 1 (processes 1 × threads 1), min 1, max 100. */
const DEFAULTS: AutoscalingParams = autoscalingParams(apiSpec("vectors"));

/** Parameters with no stabilization: one tick shows the recommendation rules alone. */
const NO_STABILIZATION = { ...DEFAULTS, downscaleStabilizationMs: 0, upscaleStabilizationMs: 0 };

describe("autoscalingParams", () => {
  test("reads Cortex's defaults from a resolved spec", () => {
    expect(DEFAULTS).toEqual({
      minReplicas: 1,
      maxReplicas: 100,
      targetReplicaConcurrency: 1,
      windowMs: 60_000,
      downscaleStabilizationMs: 300_000,
      upscaleStabilizationMs: 60_000,
      maxDownscaleFactor: 0.75,
      maxUpscaleFactor: 1.5,
      downscaleTolerance: 0.05,
      upscaleTolerance: 0.05,
    });
  });
});

describe("Autoscaler.tick: Cortex's test vectors (§2.4)", () => {
  test.each([
    // current, avg in-flight, final request
    [4, 10, 6],
    [10, 9.6, 10],
    [10, 8.9, 9],
    [10, 2, 8],
    [2, 0, 1],
    [1, 1.04, 1],
    [1, 3, 2],
  ])("current %i, avg in-flight %f → %i", (current, avg, expected) => {
    const decision = new Autoscaler(NO_STABILIZATION).tick(0, current, avg);
    expect(decision?.request).toBe(expected);
  });

  test("Cortex's table test: downscale with factor 0.5 and upscale from 1", () => {
    const down = new Autoscaler({ ...NO_STABILIZATION, maxDownscaleFactor: 0.5 });
    expect(down.tick(0, 5, 2)?.request).toBe(3);
    expect(new Autoscaler(NO_STABILIZATION).tick(0, 1, 3)?.request).toBe(2);
  });

  test("no metrics: no decision", () => {
    expect(new Autoscaler(DEFAULTS).tick(0, 3, null)).toBeUndefined();
  });
});

describe("Autoscaler.tick: stabilization", () => {
  test("no scale event in the first stabilization period after the loop starts", () => {
    const scaler = new Autoscaler(DEFAULTS);
    const up = scaler.tick(0, 1, 10);
    expect(up).toMatchObject({ request: 1, recommendation: 2, heldBy: { period: "upscale" } });
    const down = new Autoscaler(DEFAULTS).tick(0, 10, 0);
    expect(down).toMatchObject({ request: 10, heldBy: { period: "downscale", leftMs: 300_000 } });
  });

  test("a downscale waits for the highest recommendation of the period; an upscale for the lowest", () => {
    // Given a loop running for longer than both periods at 4 replicas under a load of 4
    const scaler = new Autoscaler(DEFAULTS);
    let t = 0;
    for (; t <= 300_000; t += AUTOSCALER_TICK_MS) scaler.tick(t, 4, 4);
    // When the load drops to 1
    const first = scaler.tick(t, 4, 1);
    // Then the count holds at 4 (recommendations of 4 are still in the 5-minute period)…
    expect(first).toMatchObject({ recommendation: 3, request: 4 });
    expect(first?.heldBy?.leftMs).toBe(290_000);
    expect(describeHeld(first ?? fail())).toBe(
      "would scale down to 3; waiting for the 5m0s downscale stabilization, 4m50s left",
    );
    // …until they have aged out, then it steps down
    let decision = first;
    for (let i = 0; i < 29; i++) decision = scaler.tick((t += AUTOSCALER_TICK_MS), 4, 1);
    expect(decision?.request).toBe(4);
    decision = scaler.tick((t += AUTOSCALER_TICK_MS), 4, 1);
    expect(decision?.request).toBe(3);
  });

  test("the upscale ceiling never forces a downscale (the v0.28 fix)", () => {
    const scaler = new Autoscaler(DEFAULTS);
    let t = 0;
    for (; t <= 300_000; t += AUTOSCALER_TICK_MS) scaler.tick(t, 4, 1);
    // Recommendations of 3 fill the upscale period; the current count is 4 and the load says 4
    const decision = scaler.tick(t, 4, 4);
    expect(decision?.request).toBe(4);
  });
});

describe("Autoscaler properties", () => {
  /** A deterministic pseudo-random sequence (no flaky seeds). */
  function* loads(seed: number): Generator<number> {
    let x = seed;
    for (;;) {
      x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
      yield ((x % 1000) / 1000) * 60;
    }
  }

  test.each([1, 2, 3, 4, 5])(
    "random loads (seed %i): bounds, factors and stabilization hold",
    (seed) => {
      const params = { ...DEFAULTS, minReplicas: 2, maxReplicas: 20, targetReplicaConcurrency: 2 };
      const scaler = new Autoscaler(params);
      let current = 2;
      let lastUp = -Infinity;
      const load = loads(seed);
      for (let tick = 0; tick < 500; tick++) {
        const now = tick * AUTOSCALER_TICK_MS;
        const decision = scaler.tick(now, current, load.next().value ?? 0);
        if (decision === undefined) continue;
        const { request } = decision;
        expect(request).toBeGreaterThanOrEqual(params.minReplicas);
        expect(request).toBeLessThanOrEqual(params.maxReplicas);
        expect(request).toBeLessThanOrEqual(Math.max(current + 1, Math.ceil(current * 1.5)));
        expect(request).toBeGreaterThanOrEqual(Math.min(current - 1, Math.ceil(current * 0.75)));
        if (request < current) {
          // No downscale inside the first period, nor within a period of a higher recommendation
          expect(now).toBeGreaterThanOrEqual(params.downscaleStabilizationMs);
        }
        if (request > current) lastUp = now;
        current = request;
      }
      expect(lastUp).toBeGreaterThan(0);
    },
  );

  test("a constant load converges to ceil(load / target) and stays", () => {
    const params = { ...DEFAULTS, maxReplicas: 50, targetReplicaConcurrency: 2 };
    const scaler = new Autoscaler(params);
    let current = 1;
    const counts: number[] = [];
    for (let tick = 0; tick < 200; tick++) {
      current = scaler.tick(tick * AUTOSCALER_TICK_MS, current, 31)?.request ?? current;
      counts.push(current);
    }
    expect(counts.at(-1)).toBe(16);
    const firstAtTarget = counts.indexOf(16);
    expect(counts.slice(firstAtTarget).every((c) => c === 16)).toBe(true);
  });
});

describe("explanations", () => {
  test("a scale-up says from, to, the signal and what limited it", () => {
    const params = { ...NO_STABILIZATION, targetReplicaConcurrency: 2 };
    const decision = new Autoscaler(params).tick(0, 2, 15.6);
    expect(decision?.request).toBe(3);
    expect(describeScaling(decision ?? fail(), params)).toBe(
      "scaled up 2 → 3: avg in-flight 15.6 over 1m0s, target 2 (max ×1.5)",
    );
  });
});

describe("averageInFlight", () => {
  test("sums every replica's samples over the most samples any one has (Cortex v0.42's query)", () => {
    expect(averageInFlight([])).toBeNull();
    expect(averageInFlight([[], []])).toBeNull();
    expect(averageInFlight([[2, 4, 6]])).toBe(4);
    // A replica that lived for a third of the window counts for a third
    expect(averageInFlight([[3, 3, 3], [6]])).toBe(5);
  });
});

function fail(): never {
  throw new Error("expected a decision");
}
