/**
 * The rolling-update planner, step by step: a small simulation applies each step (stops at once,
 * starts as `starting`, then one replica becomes ready per tick) and checks Kubernetes' bounds at
 * every moment.
 */
import { describe, expect, test } from "vitest";
import type { ObservedReplica } from "../provider.js";
import { planRolloutStep, resolveRolloutBounds } from "./rollout.js";

function replicas(versionId: string, count: number, phase: ObservedReplica["phase"] = "ready") {
  return Array.from({ length: count }, (_, i) => ({
    id: `${versionId}-${i}`,
    versionId,
    phase,
    startedAt: i,
  }));
}

/** Runs a roll from `from` ready replicas of v1 to `desired` of v2; returns what it saw. */
function simulateRoll(desired: number, from: number, maxSurge: string, maxUnavailable: string) {
  let running: ObservedReplica[] = replicas("v1", from);
  let next = 0;
  let clock = 100;
  const seen = { maxTotal: running.length, minReady: running.length, steps: 0 };
  for (let tick = 0; tick < 200; tick++) {
    const step = planRolloutStep({
      desired,
      versionId: "v2",
      replicas: running,
      maxSurge,
      maxUnavailable,
    });
    running = running.filter((r) => !step.stop.includes(r.id));
    for (let i = 0; i < step.start; i++) {
      running.push({ id: `v2-${next++}`, versionId: "v2", phase: "starting", startedAt: clock++ });
    }
    seen.maxTotal = Math.max(seen.maxTotal, running.length);
    seen.minReady = Math.min(seen.minReady, running.filter((r) => r.phase === "ready").length);
    const done =
      running.length === desired &&
      running.every((r) => r.versionId === "v2" && r.phase === "ready");
    if (done) return { ...seen, steps: tick };
    // One starting replica becomes ready per tick.
    const starting = running.find((r) => r.phase === "starting");
    if (starting !== undefined) starting.phase = "ready";
  }
  throw new Error(`the roll did not finish: ${JSON.stringify(running)}`);
}

describe("resolveRolloutBounds", () => {
  test("rounds surge up and unavailable down, as Kubernetes does", () => {
    expect(resolveRolloutBounds(1, "25%", "25%")).toEqual({ surge: 1, unavailable: 0 });
    expect(resolveRolloutBounds(4, "25%", "25%")).toEqual({ surge: 1, unavailable: 1 });
    expect(resolveRolloutBounds(10, "25%", "25%")).toEqual({ surge: 3, unavailable: 2 });
    expect(resolveRolloutBounds(3, "2", "0")).toEqual({ surge: 2, unavailable: 0 });
  });

  test("lets one replica be unavailable when both bounds come to 0", () => {
    expect(resolveRolloutBounds(3, "0", "0%")).toEqual({ surge: 0, unavailable: 1 });
  });
});

describe("planRolloutStep", () => {
  test.each([
    // desired, from, max_surge, max_unavailable
    [2, 2, "1", "0"],
    [2, 2, "0", "1"],
    [1, 1, "25%", "25%"],
    [4, 4, "25%", "25%"],
    [5, 3, "50%", "0"],
    [2, 5, "1", "1"],
    [6, 6, "100%", "0"],
  ])(
    "rolls %i replicas (from %i) with max_surge %s, max_unavailable %s within the bounds",
    (desired, from, maxSurge, maxUnavailable) => {
      const { surge, unavailable } = resolveRolloutBounds(desired, maxSurge, maxUnavailable);
      const seen = simulateRoll(desired, from, maxSurge, maxUnavailable);
      expect(seen.maxTotal).toBeLessThanOrEqual(Math.max(from, desired + surge));
      expect(seen.minReady).toBeGreaterThanOrEqual(Math.min(from, desired - unavailable));
    },
  );

  test("max_surge 1, max_unavailable 0 starts one new replica before stopping any old one", () => {
    const step = planRolloutStep({
      desired: 2,
      versionId: "v2",
      replicas: replicas("v1", 2),
      maxSurge: "1",
      maxUnavailable: "0",
    });
    expect(step).toEqual({ start: 1, stop: [] });
  });

  test("max_surge 0, max_unavailable 1 stops the oldest ready replica and starts its replacement", () => {
    const step = planRolloutStep({
      desired: 2,
      versionId: "v2",
      replicas: replicas("v1", 2),
      maxSurge: "0",
      maxUnavailable: "1",
    });
    expect(step).toEqual({ start: 1, stop: ["v1-0"] });
  });

  test("an old replica that is still starting is stopped at once: it serves nothing", () => {
    const step = planRolloutStep({
      desired: 1,
      versionId: "v3",
      replicas: [...replicas("v1", 1), ...replicas("v2", 1, "starting")],
      maxSurge: "25%",
      maxUnavailable: "25%",
    });
    expect(step).toEqual({ start: 1, stop: ["v2-0"] });
  });

  test("without an old version, scales to the desired count: surplus stops unready and newest first", () => {
    const running = [
      ...replicas("v1", 3),
      { id: "late", versionId: "v1", phase: "starting" as const, startedAt: 1 },
    ];
    expect(
      planRolloutStep({
        desired: 2,
        versionId: "v1",
        replicas: running,
        maxSurge: "25%",
        maxUnavailable: "25%",
      }),
    ).toEqual({ start: 0, stop: ["late", "v1-2"] });
    expect(
      planRolloutStep({
        desired: 5,
        versionId: "v1",
        replicas: running,
        maxSurge: "25%",
        maxUnavailable: "25%",
      }),
    ).toEqual({ start: 1, stop: [] });
  });
});
