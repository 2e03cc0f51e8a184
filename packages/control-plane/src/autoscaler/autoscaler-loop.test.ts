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
  const samples = { perReplica: [[0]] as number[][] };
  const events = new RecordingSink();
  const enqueued: string[] = [];
  const loop = new AutoscalerLoop({
    store,
    metrics: { inFlightSamples: () => samples.perReplica },
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
