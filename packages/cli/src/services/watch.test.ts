import { describe, expect, it } from "vitest";
import { makeApiDetail } from "../testing/fake-control-plane.js";
import {
  addSnapshot,
  currentRate,
  redrawInterval,
  TREND_SAMPLES,
  type ApiTrends,
} from "./watch.js";

function look(seconds: number, served: number, p99: number | null = 4) {
  const api = {
    ...makeApiDetail("iris", "http://x/iris", "live"),
    metrics: {
      requests: { "2XX": served, "4XX": 1, "5XX": 0 },
      avgLatencyMs: 1,
      p99LatencyMs: p99,
      inFlight: 0,
    },
  };
  return { at: new Date(seconds * 1000).toISOString(), apis: [api] };
}

describe("addSnapshot", () => {
  it("turns request counters into requests per second between looks", () => {
    // Given three looks: 0, 20 and 50 requests answered, two seconds apart
    let trends: ApiTrends = new Map();
    for (const [t, served] of [
      [0, 0],
      [2, 20],
      [4, 50],
    ] as const)
      trends = addSnapshot(trends, look(t, served));

    // Then the first look has no rate, then 10/s and 15/s
    expect(trends.get("iris")?.requestsPerSecond).toEqual([null, 10, 15]);
    expect(currentRate(trends.get("iris"))).toBe(15);
    expect(trends.get("iris")?.p99LatencyMs).toEqual([4, 4, 4]);
  });

  it("has no rate across a control-plane restart, drops apis that are gone, and keeps two minutes", () => {
    let trends: ApiTrends = addSnapshot(new Map(), look(0, 100));
    trends = addSnapshot(trends, look(1, 3));
    expect(trends.get("iris")?.requestsPerSecond).toEqual([null, null]);

    expect(addSnapshot(trends, { at: new Date(2000).toISOString(), apis: [] }).size).toBe(0);

    for (let t = 2; t < 300; t += 1) trends = addSnapshot(trends, look(t, t));
    expect(trends.get("iris")?.requestsPerSecond).toHaveLength(TREND_SAMPLES);
  });
});

describe("redrawInterval", () => {
  it("follows the engine's redraw when its answers cost calls (ECS), else the watch's own", () => {
    // Given a local API's look and an ECS API's look that asks for 10 s
    const local = look(1, 10);
    const detail = {
      ...makeApiDetail("iris", "http://x/iris", "live"),
      traffic: { redrawMs: 10_000, minutes: [], replicas: { desired: 1, running: 1, pending: 0 } },
    };
    const ecs = { at: local.at, apis: [detail], detail, redrawMs: 10_000 };
    // Then the local one is looked at every second, the ECS one every 10 s
    expect(redrawInterval(local, 1000)).toBe(1000);
    expect(redrawInterval(ecs, 1000)).toBe(10_000);
  });
});
