/**
 * The autoscaler loop over a real SQLite store, a recording event sink and in-flight samples the
 * test sets: what it writes, tells and keeps for `axon get`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { RecordingSink } from "../events/event-sink.js";
import { StateStore } from "../state/store.js";
import { apiSpec } from "../testing/specs.js";
import { emptyStats } from "../replica/metrics.js";
import { AUTOSCALER_TICK_MS } from "./autoscaler.js";
import { AutoscalerLoop } from "./autoscaler-loop.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function setup(autoscaling: string) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "axon-autoscaler-loop-"));
  dirs.push(dir);
  const store = StateStore.open(path.join(dir, "state.db"));
  store.addBundle("b", 1);
  store.putApiVersion(
    {
      id: "v1",
      apiName: "iris",
      spec: apiSpec("iris", `  autoscaling:\n${autoscaling}`),
      specHash: "h",
      bundle: "b",
      configFile: "axon.yaml",
      projectPath: null,
      artifact: {},
      createdAt: new Date().toISOString(),
    },
    "RealtimeAPI",
    2,
  );
  const samples = { perReplica: [[0]] as number[][], requests: 0 };
  const events = new RecordingSink();
  const enqueued: string[] = [];
  const loop = new AutoscalerLoop({
    store,
    metrics: {
      inFlightSamples: () => samples.perReplica,
      apiRequestStats: () => ({ ...emptyStats(), count: samples.requests }),
    },
    events,
    enqueue: (name) => enqueued.push(name),
  });
  return { store, samples, events, enqueued, loop };
}

describe("AutoscalerLoop", () => {
  test("a load step scales up, writes the count, tells why, and reconciles", () => {
    // Given an API at 2 replicas, target 1, no upscale stabilization
    const { store, samples, events, enqueued, loop } = setup(
      "    min_replicas: 2\n    max_replicas: 10\n    upscale_stabilization_period: 0s\n",
    );
    // When its two replicas average 3 requests in flight each
    samples.perReplica = [
      [3, 3, 3],
      [3, 3, 3],
    ];
    loop.tick(1_000_000);
    // Then it scales up by at most ×1.5, and says so
    expect(store.getApi("iris")?.requested).toBe(3);
    expect(enqueued).toEqual(["iris"]);
    expect(events.events).toEqual([
      {
        kind: "api.scaled",
        api: "iris",
        from: 2,
        to: 3,
        because: "avg in-flight 6 over 1m0s, target 1 (max ×1.5)",
      },
    ]);
    expect(loop.status("iris")).toMatchObject({
      avgInFlight: 6,
      recommendation: 3,
      lastScaled: { message: "scaled up 2 → 3: avg in-flight 6 over 1m0s, target 1 (max ×1.5)" },
    });
  });

  test("a decision held back by stabilization changes nothing and says what it waits for", () => {
    const { store, samples, events, loop } = setup("    min_replicas: 1\n    max_replicas: 10\n");
    samples.perReplica = [[0], [0]];
    loop.tick(1_000_000);
    loop.tick(1_000_000 + AUTOSCALER_TICK_MS);
    expect(store.getApi("iris")?.requested).toBe(2);
    expect(events.events).toEqual([]);
    expect(loop.status("iris")?.pending).toBe(
      "would scale down to 1; waiting for the 5m0s downscale stabilization, 4m50s left",
    );
  });

  test("no samples (no replica ready yet): no decision", () => {
    const { store, samples, loop } = setup("    min_replicas: 2\n");
    samples.perReplica = [];
    loop.tick(1_000_000);
    expect(store.getApi("iris")?.requested).toBe(2);
    expect(loop.status("iris")).toEqual({});
  });
});

describe("AutoscalerLoop scale to zero", () => {
  test("Given min_replicas 0 and scale_to_zero_after 1m, When no request arrives for 1m, Then it scales to 0 and stays there until woken", () => {
    // Given an API at 2 replicas that may idle at zero after 1m
    const { store, samples, events, loop } = setup(
      "    min_replicas: 0\n    max_replicas: 4\n    init_replicas: 2\n    scale_to_zero_after: 1m\n",
    );
    // When requests keep coming for a while, then stop for a minute
    let now = 1_000_000;
    for (let i = 0; i < 6; i++) {
      samples.requests += 5;
      loop.tick((now += AUTOSCALER_TICK_MS));
    }
    expect(store.getApi("iris")?.requested).toBeGreaterThan(0);
    for (let i = 0; i < 6; i++) loop.tick((now += AUTOSCALER_TICK_MS));
    // Then it is at zero, and says why
    expect(store.getApi("iris")?.requested).toBe(0);
    expect(events.events.at(-1)).toMatchObject({
      kind: "api.scaled",
      to: 0,
      because: "no request for 1m0s → 0 replicas (scale_to_zero_after 1m0s)",
    });
    expect(loop.status("iris")?.lastScaled?.message).toBe(
      "no request for 1m0s → 0 replicas (scale_to_zero_after 1m0s)",
    );
    // And ticks at zero change nothing (only a request wakes it)
    loop.tick((now += AUTOSCALER_TICK_MS));
    expect(store.getApi("iris")?.requested).toBe(0);
    // When a request wakes it
    expect(loop.wake("iris", now)).toBe(true);
    // Then one replica is requested, get says what woke it, and a second wake does nothing
    expect(store.getApi("iris")?.requested).toBe(1);
    expect(loop.status("iris")?.lastScaled).toEqual({
      at: new Date(now).toISOString(),
      message: `woken by a request held at ${new Date(now).toISOString()} → 1 replica`,
    });
    expect(loop.wake("iris", now)).toBe(false);
  });

  test("Given min_replicas 1, When idle for an hour, Then it never goes below one", () => {
    const { store, loop } = setup("    min_replicas: 1\n    max_replicas: 4\n");
    let now = 1_000_000;
    for (let i = 0; i < 360; i++) loop.tick((now += AUTOSCALER_TICK_MS));
    expect(store.getApi("iris")?.requested).toBe(1);
  });
});
