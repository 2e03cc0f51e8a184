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

function setup() {
  const dir = mkdtempSync(path.join(os.tmpdir(), "axon-reconcile-"));
  dirs.push(dir);
  const store = StateStore.open(path.join(dir, "state.db"));
  store.addBundle("b1", 1);
  store.addBundle("b2", 1);
  const events = new RecordingSink();
  const engine = new ManagedEngineProvider(events);
  const secrets = { get: (name: string) => ({ AWS_REGION: `region-of-${name}` }) };
  const now = new Date("2026-12-03T10:00:05Z");
  const reconcile = makeApiReconciler({ store, secrets, provider: engine, events, now: () => now });
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
  return { store, engine, events, deploy, run };
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
});
