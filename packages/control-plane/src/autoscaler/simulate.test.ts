/**
 * The what-if simulator on the shipped trace (examples/iris-sklearn/traffic.csv) with the iris
 * example's own config, and the trace parser's errors.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { loadApiConfigFile } from "@axon/config";
import { describe, expect, test } from "vitest";
import { apiSpec } from "../testing/specs.js";
import { autoscalingParams } from "./autoscaler.js";
import { parseTrace, simulate, TraceError } from "./simulate.js";

const IRIS = fileURLToPath(new URL("../../../../examples/iris-sklearn/", import.meta.url));

describe("simulate", () => {
  test("the shipped trace with the iris example's config: scales up on the step, back down after it, and says so", () => {
    // Given the iris example's resolved config and its traffic trace
    const [spec] = loadApiConfigFile(`${IRIS}axon.yaml`).apis;
    if (spec === undefined) throw new Error("no spec");
    const trace = parseTrace(readFileSync(`${IRIS}traffic.csv`, "utf8"));
    // When it is replayed with a 20 ms predictor
    const result = simulate(trace, {
      params: autoscalingParams(spec),
      initialReplicas: spec.autoscaling.init_replicas,
      concurrency: spec.predictor.processes_per_replica * spec.predictor.threads_per_process,
      maxReplicaConcurrency: spec.autoscaling.max_replica_concurrency,
      serviceTimeMs: 20,
    });
    // Then every request is accounted for; the first scale-up comes a window and the 1m0s upscale
    // stabilization after the step (Cortex's worst case); the count grows step by step (×1.5 at
    // most), refusing requests meanwhile, and comes back down after the peak
    const expected =
      120 * 40 + 240 * 400 + 240 * 1200 + 180 * 300 + 40 * (result.ticks.length * 10 - 780);
    expect(result.requests).toBe(expected);
    expect(result.firstScaleUpAt).toBeGreaterThan(120 + 60);
    expect(result.firstScaleUpAt).toBeLessThanOrEqual(120 + 60 + 60 + 10);
    expect(result.refused).toBeGreaterThan(0);
    expect(result.maxReplicas).toBeGreaterThanOrEqual(24);
    expect(result.ticks.at(-1)?.requested).toBeLessThan(result.maxReplicas);
    for (const [previous, tick] of result.ticks.slice(1).map((t, i) => [result.ticks[i], t])) {
      const from = previous?.requested ?? 1;
      expect(tick?.requested).toBeLessThanOrEqual(Math.max(from + 1, Math.ceil(from * 1.5)));
    }
    // And each change is explained as the control plane would explain it
    const notes = result.ticks.flatMap((t) => (t.note === undefined ? [] : [t.note]));
    expect(
      notes.some((n) => /^scaled up 1 → 2: avg in-flight [\d.]+ over 1m0s, target 1/.test(n)),
    ).toBe(true);
    for (const held of ["1m0s upscale", "5m0s downscale"]) {
      expect(notes.some((n) => n.includes(`waiting for the ${held} stabilization`))).toBe(true);
    }
    expect(notes.some((n) => n.startsWith("scaled down"))).toBe(true);
  });

  test("a step beyond what the replicas admit is refused until they catch up, not after", () => {
    const params = {
      ...autoscalingParams(apiSpec("s")),
      upscaleStabilizationMs: 0,
      downscaleStabilizationMs: 0,
      windowMs: 10_000,
    };
    const result = simulate(
      [
        { atSeconds: 0, requestsPerSecond: 10 },
        { atSeconds: 30, requestsPerSecond: 2_000 },
      ],
      {
        params,
        initialReplicas: 1,
        concurrency: 1,
        maxReplicaConcurrency: 8,
        serviceTimeMs: 10,
        tailSeconds: 300,
      },
    );
    const before = result.ticks.filter((t) => t.atSeconds <= 30);
    expect(before.every((t) => t.refused === 0)).toBe(true);
    expect(result.refused).toBeGreaterThan(0);
    // 2,000 req/s × 10 ms = 20 in flight: 20 replicas at target 1 once the queue has drained
    // (the queue counted while it lasted made it overshoot first)
    expect(result.ticks.at(-1)?.refused).toBe(0);
    expect(result.maxReplicas).toBeGreaterThan(20);
    expect(result.ticks.at(-1)?.requested).toBe(20);
  });
});

describe("simulate with scale to zero", () => {
  const params = {
    ...autoscalingParams(apiSpec("s")),
    upscaleStabilizationMs: 0,
    downscaleStabilizationMs: 0,
    windowMs: 10_000,
  };
  const options = {
    params,
    initialReplicas: 1,
    concurrency: 1,
    maxReplicaConcurrency: 8,
    serviceTimeMs: 10,
    startupMs: 5_000,
    scaleToZeroAfterMs: 120_000,
  };

  test("no request for scale_to_zero_after → 0 replicas, said at that tick; a request wakes it, held through the start, not refused", () => {
    // Given 5 req/s for a minute, nothing for four minutes, then 1 req/s for 30 s
    const trace = [
      { atSeconds: 0, requestsPerSecond: 5 },
      { atSeconds: 60, requestsPerSecond: 0 },
      { atSeconds: 300, requestsPerSecond: 1 },
      { atSeconds: 330, requestsPerSecond: 0 },
    ];
    // When it is replayed with scale_to_zero_after 2m and a 5 s start
    const result = simulate(trace, options);
    const at = (seconds: number) => result.ticks.find((t) => t.atSeconds === seconds);

    // Then the last request is at 0:59, so the tick at 3:00 is the first 2m0s later: 0 replicas
    expect(at(170)?.requested).toBe(1);
    expect(at(180)).toMatchObject({
      requested: 0,
      ready: 0,
      note: "no request for 2m0s → 0 replicas (scale_to_zero_after 2m0s)",
    });
    expect(at(290)).toMatchObject({ requested: 0, ready: 0 });
    expect(at(290)?.note).toBeUndefined();
    // And the request at 5:00 wakes it at once: one replica, ready 5 s later; the 5 requests
    // of those 5 s are held (the hold limit is 8), none refused
    expect(at(310)).toMatchObject({
      requested: 1,
      ready: 1,
      refused: 0,
      note: "woken by a request held at 5:00 → 1 replica",
    });
    expect(result.refused).toBe(0);
    expect(result.minReplicas).toBe(0);
    // And the run goes on long enough to go back to zero after the second burst (last at 5:29)
    expect(result.ticks.at(-1)).toMatchObject({ requested: 0 });
    const notes = result.ticks.flatMap((t) => (t.note === undefined ? [] : [t.note]));
    expect(notes.filter((n) => n.startsWith("no request for"))).toHaveLength(2);
  });

  test("what arrives beyond the hold limit while the replica starts is refused", () => {
    // Given an API already at zero (init_replicas 0) and a burst of 100 req/s of 1 s requests
    const result = simulate([{ atSeconds: 0, requestsPerSecond: 100 }], {
      ...options,
      initialReplicas: 0,
      serviceTimeMs: 1_000,
      tailSeconds: 10,
    });
    // Then the gateway holds 8 (the limit) during the 5 s start and refuses the rest
    const [first] = result.ticks;
    expect(first?.note).toMatch(/^woken by a request held at 0:00 → 1 replica/);
    expect(first?.refused).toBeGreaterThan(400);
    expect(first?.refused).toBeLessThan(1_000);
  });

  test("without scaleToZeroAfterMs an idle API stays at min_replicas", () => {
    const result = simulate([{ atSeconds: 0, requestsPerSecond: 0 }], {
      ...options,
      scaleToZeroAfterMs: undefined,
      tailSeconds: 600,
    });
    expect(result.minReplicas).toBe(1);
  });
});

describe("parseTrace", () => {
  test("reads rows after an optional header and comments", () => {
    expect(parseTrace("# c\nseconds,rps\n0, 5\n10,7.5\n")).toEqual([
      { atSeconds: 0, requestsPerSecond: 5 },
      { atSeconds: 10, requestsPerSecond: 7.5 },
    ]);
  });

  test.each([
    ["0,5\n10\n", 2, 'expected "seconds,requests_per_second", got "10"'],
    ["0,5\n0,6\n", 2, "seconds must increase (0 after 0)"],
    ["0,-5\n", 1, 'seconds and requests per second must not be negative ("0,-5")'],
    ["seconds,rps\n", 1, "the trace has no rows"],
  ])("%j is refused at line %i", (csv, line, message) => {
    try {
      parseTrace(csv);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(TraceError);
      expect(error).toMatchObject({ line, message });
    }
  });
});
