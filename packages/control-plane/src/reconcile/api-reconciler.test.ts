/**
 * The reconciler against the managed-engine test provider (STYLE §36: the reconciler with an
 * in-memory provider, emitters with a recording sink) and a real SQLite store: what it hands the
 * provider for each desired state, and what it records once a version is fully rolled out.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { RecordingSink } from "../events/event-sink.js";
import { StateStore } from "../state/store.js";
import { ManagedEngineProvider } from "../testing/managed-engine.js";
import { apiSpec } from "../testing/specs.js";
import { makeApiReconciler } from "./api-reconciler.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function setup(options: { rolloutTimeoutMs?: number } = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "axon-reconcile-"));
  dirs.push(dir);
  const store = StateStore.open(path.join(dir, "state.db"));
  store.addBundle("b1", 1);
  store.addBundle("b2", 1);
  const events = new RecordingSink();
  const engine = new ManagedEngineProvider(events);
  const secrets = { get: (name: string) => ({ AWS_REGION: `region-of-${name}` }) };
  const clock = { now: new Date("2026-12-03T10:00:05Z") };
  const reconcile = makeApiReconciler({
    store,
    secrets,
    provider: engine,
    events,
    now: () => clock.now,
    ...options,
  });
  const deploy = (versionId: string, bundle: string, requested: number): void =>
    store.putApiVersion(
      {
        id: versionId,
        apiName: "iris",
        spec: apiSpec("iris"),
        specHash: versionId,
        bundle,
        configFile: "axon.yaml",
        projectPath: null,
        artifact: { image: `img-${bundle}` },
        createdAt: "2026-12-03T10:00:00.000Z",
      },
      "RealtimeAPI",
      requested,
    );
  const run = (signal = new AbortController().signal) => reconcile("iris", signal);
  /** v1 deployed and live (the engine rolled it out). */
  const live = async (): Promise<void> => {
    deploy("v1", "b1", 2);
    await run();
    engine.tick();
    engine.tick();
    await run();
    expect(store.getApi("iris")?.liveVersionId).toBe("v1");
  };
  return { store, engine, events, clock, deploy, run, live };
}

describe("reconcileApi", () => {
  test("hands the provider the current version, its artifact, the requested count and the credentials", async () => {
    const { engine, deploy, run } = setup();
    const applied: unknown[] = [];
    const apply = engine.apply.bind(engine);
    engine.apply = async (desired, signal) => {
      applied.push(desired);
      return apply(desired, signal);
    };
    deploy("v1", "b1", 2);
    const result = await run();
    expect(applied).toEqual([
      {
        name: "iris",
        version: { id: "v1", spec: apiSpec("iris"), bundle: "b1", artifact: { image: "img-b1" } },
        replicas: 2,
        secretEnv: { AWS_REGION: "region-of-iris" },
      },
    ]);
    // The provider's answer is the reconcile's (a managed engine asks to be looked at again).
    expect(result).toEqual({ requeueAfterMs: 1_000 });
  });

  test("records the version as live, once, when every requested replica of it is ready", async () => {
    const { store, engine, events, deploy, run } = setup();
    deploy("v1", "b1", 1);
    await run();
    engine.tick();
    await run();
    // A replica still starting: not live yet
    expect(store.getApi("iris")?.liveVersionId).toBeNull();
    engine.tick();
    await run();
    await run();
    expect(store.getApi("iris")).toMatchObject({
      liveVersionId: "v1",
      liveAt: "2026-12-03T10:00:05.000Z",
    });
    expect(events.events.filter((e) => e.kind === "rollout.finished")).toEqual([
      { kind: "rollout.finished", api: "iris", versionId: "v1", seconds: 5 },
    ]);
  });

  test("a version is not live while replicas of an older one still run", async () => {
    const { store, engine, deploy, run } = setup();
    deploy("v1", "b1", 1);
    await run();
    engine.tick();
    engine.tick();
    await run();
    deploy("v2", "b2", 1);
    await run();
    engine.tick();
    engine.tick();
    // The new replica is ready, but the engine stops the old one only on its next step.
    await run();
    expect(engine.observe("iris").replicas.map((r) => [r.versionId, r.phase])).toEqual([
      ["v1", "ready"],
      ["v2", "ready"],
    ]);
    expect(store.getApi("iris")?.liveVersionId).toBe("v1");
    engine.tick();
    await run();
    expect(store.getApi("iris")?.liveVersionId).toBe("v2");
  });

  test("asks the provider to remove an API that is not in the store", async () => {
    const { store, engine, deploy, run } = setup();
    deploy("v1", "b1", 2);
    await run();
    engine.tick();
    store.deleteApi("iris");
    await run();
    expect(engine.apiNames()).toEqual([]);
    expect(engine.mutations.at(-1)).toBe("deleteService iris");
  });

  test("passes the reconcile's signal to the provider (a timeout reaches the work)", async () => {
    const { engine, deploy, run } = setup();
    deploy("v1", "b1", 1);
    const controller = new AbortController();
    controller.abort(new Error("reconcile of iris timed out"));
    await expect(run(controller.signal)).rejects.toThrow("reconcile of iris timed out");
    expect(engine.services.size).toBe(0);
  });

  test("a new version whose replicas fail 3 times in a row is rolled back to the live one, durably", async () => {
    // Given v1 live, and v2 deployed whose tasks keep failing
    const { store, engine, events, deploy, run, live } = setup();
    await live();
    deploy("v2", "b2", 2);
    await run();
    engine.failVersion("iris", "v2", 2, "exit 1: ImportError: no module named sklearn");
    // When the engine reports two failures: not yet
    await run();
    expect(store.getApi("iris")?.currentVersion.id).toBe("v2");
    // When it reports the third
    engine.failVersion("iris", "v2", 3, "exit 1: ImportError: no module named sklearn");
    const result = await run();
    // Then v1 is current again, the store says why, and the event tells it
    expect(result).toEqual({ requeueAfterMs: 0 });
    expect(store.getApi("iris")).toMatchObject({
      currentVersion: { id: "v1" },
      liveVersionId: "v1",
      rolledBack: {
        failedVersionId: "v2",
        reason:
          "its replicas failed 3 times in a row (last: exit 1: ImportError: no module named sklearn)",
      },
    });
    expect(events.events.filter((e) => e.kind === "rollout.rolled_back")).toEqual([
      {
        kind: "rollout.rolled_back",
        api: "iris",
        versionId: "v2",
        toVersionId: "v1",
        reason: expect.stringContaining("failed 3 times"),
      },
    ]);
    // And the next reconcile hands the engine v1 again
    await run();
    expect(engine.services.get("iris")?.versionId).toBe("v1");
    // And the next deploy clears the rollback
    deploy("v3", "b2", 2);
    expect(store.getApi("iris")?.rolledBack).toBeNull();
  });

  test("a new version not live within the rollout timeout is rolled back; until then the reconcile looks again by the deadline", async () => {
    const { store, engine, clock, deploy, run, live } = setup({ rolloutTimeoutMs: 60_000 });
    await live();
    deploy("v2", "b2", 2);
    engine.failVersion("iris", "v2", 1, "still loading");
    const early = await run();
    expect(early.requeueAfterMs).toBeLessThanOrEqual(60_000);
    expect(store.getApi("iris")?.currentVersion.id).toBe("v2");
    clock.now = new Date(Date.parse(store.getApi("iris")?.updatedAt ?? "") + 60_000);
    await run();
    expect(store.getApi("iris")).toMatchObject({
      currentVersion: { id: "v1" },
      rolledBack: {
        failedVersionId: "v2",
        reason: "it was not live within 1m0s (AXON_ROLLOUT_TIMEOUT)",
      },
    });
  });

  test("a first version has nothing to fall back to: it is not rolled back", async () => {
    const { store, engine, deploy, run } = setup({ rolloutTimeoutMs: 1 });
    deploy("v1", "b1", 1);
    await run();
    engine.failVersion("iris", "v1", 5, "exit 1");
    await run();
    expect(store.getApi("iris")).toMatchObject({ currentVersion: { id: "v1" }, rolledBack: null });
  });

  test("an API found at start says when it is back", async () => {
    // Given an API in the store when a (re)started reconciler comes up
    const { store, engine, events } = setup();
    store.addBundle("b3", 1);
    const resuming = new Set(["iris"]);
    const reconcile = makeApiReconciler({
      store,
      secrets: { get: () => ({}) },
      provider: engine,
      events,
      resuming,
    });
    store.putApiVersion(
      {
        id: "v1",
        apiName: "iris",
        spec: apiSpec("iris"),
        specHash: "h",
        bundle: "b3",
        configFile: "axon.yaml",
        projectPath: null,
        artifact: { image: "i" },
        createdAt: new Date().toISOString(),
      },
      "RealtimeAPI",
      1,
    );
    const signal = new AbortController().signal;
    await reconcile("iris", signal);
    expect(events.kinds()).not.toContain("api.recovered");
    // When its replicas are ready
    engine.tick();
    engine.tick();
    await reconcile("iris", signal);
    await reconcile("iris", signal);
    // Then it is announced once
    expect(events.events.filter((e) => e.kind === "api.recovered")).toEqual([
      expect.objectContaining({ api: "iris", versionId: "v1", replicas: 1 }),
    ]);
    expect(resuming.size).toBe(0);
  });
});
