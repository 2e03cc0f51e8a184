/**
 * The reconciler against an in-memory fake provider (STYLE §36): what it starts, stops and routes
 * for each combination of desired state and observed replicas. A real SQLite store holds the
 * desired state; the bundle store is only asked to unpack.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import type { BundleStore } from "../bundles/bundle-store.js";
import type {
  ObservedReplica,
  Provider,
  ReplicaFailure,
  ReplicaPlan,
} from "../providers/provider.js";
import { StateStore } from "../state/store.js";
import { crashBackoffMs, makeApiReconciler } from "./api-reconciler.js";

class FakeProvider implements Provider {
  replicas: ObservedReplica[] = [];
  routes = new Map<string, string>();
  failures = new Map<string, ReplicaFailure>();
  created: ReplicaPlan[] = [];
  deleted: string[] = [];
  #next = 0;

  listReplicas(apiName: string): ObservedReplica[] {
    return this.replicas.filter((r) => r.apiName === apiName);
  }
  apiNamesWithReplicas(): string[] {
    return [...new Set(this.replicas.map((r) => r.apiName))];
  }
  lastFailure(apiName: string): ReplicaFailure | undefined {
    return this.failures.get(apiName);
  }
  createReplica(plan: ReplicaPlan): ObservedReplica {
    this.created.push(plan);
    const replica: ObservedReplica = {
      id: `r${this.#next++}`,
      apiName: plan.apiName,
      versionId: plan.versionId,
      phase: "starting",
      pids: [],
      startedAt: this.#next,
    };
    this.replicas.push(replica);
    return replica;
  }
  async deleteReplica(id: string): Promise<void> {
    this.deleted.push(id);
    this.replicas = this.replicas.filter((r) => r.id !== id);
  }
  setRoute(apiName: string, endpoint: string): void {
    this.routes.set(apiName, endpoint);
  }
  removeRoute(apiName: string): void {
    this.routes.delete(apiName);
  }
  forget(apiName: string): void {
    this.failures.delete(apiName);
  }
  onChange(): void {}
  async shutdown(): Promise<void> {}
  markReady(): void {
    for (const r of this.replicas) r.phase = "ready";
  }
}

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function setup(now = (): number => 1_000_000) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "axon-reconcile-"));
  dirs.push(dir);
  const store = StateStore.open(path.join(dir, "state.db"));
  store.addBundle("b1", 1);
  store.addBundle("b2", 1);
  const provider = new FakeProvider();
  const bundles = { unpack: async (sha: string) => `/projects/${sha}` } as unknown as BundleStore;
  const prepareRuntime = async () => ({
    python: "/usr/bin/python3",
    secretEnv: { AWS_REGION: "eu-west-1" },
  });
  const reconcile = makeApiReconciler({ store, bundles, provider, prepareRuntime, now });
  const deploy = (versionId: string, bundle: string, requested: number): void =>
    store.putApiVersion(
      {
        id: versionId,
        apiName: "iris",
        spec: { name: "iris", networking: { endpoint: "/iris" }, predictor: { path: "p.py" } },
        specHash: versionId,
        bundle,
        configFile: "axon.yaml",
        projectPath: null,
        envKey: null,
        createdAt: new Date().toISOString(),
      },
      "RealtimeAPI",
      requested,
    );
  return { store, provider, reconcile, deploy };
}

describe("reconcileApi", () => {
  test("starts the requested replicas of a new API and routes its endpoint", async () => {
    const { provider, reconcile, deploy } = setup();
    deploy("v1", "b1", 2);
    await reconcile("iris");
    expect(provider.created.map((p) => [p.versionId, p.projectDir, p.python, p.secretEnv])).toEqual(
      [
        ["v1", "/projects/b1", "/usr/bin/python3", { AWS_REGION: "eu-west-1" }],
        ["v1", "/projects/b1", "/usr/bin/python3", { AWS_REGION: "eu-west-1" }],
      ],
    );
    expect(provider.routes.get("iris")).toBe("/iris");
    // A second pass with nothing changed starts nothing more.
    await reconcile("iris");
    expect(provider.created).toHaveLength(2);
  });

  test("keeps the old version serving until the new one is ready, then stops it", async () => {
    const { provider, reconcile, deploy } = setup();
    deploy("v1", "b1", 1);
    await reconcile("iris");
    provider.markReady();
    // When a new version is deployed
    deploy("v2", "b2", 1);
    await reconcile("iris");
    // Then a v2 replica starts while v1 keeps running
    expect(provider.replicas.map((r) => [r.versionId, r.phase])).toEqual([
      ["v1", "ready"],
      ["v2", "starting"],
    ]);
    expect(provider.deleted).toEqual([]);
    // When v2 is ready, v1 is stopped
    provider.markReady();
    await reconcile("iris");
    expect(provider.replicas.map((r) => r.versionId)).toEqual(["v2"]);
  });

  test("waits out the crash backoff before starting another replica", async () => {
    let now = 1_000_000;
    const { provider, reconcile, deploy } = setup(() => now);
    deploy("v1", "b1", 1);
    provider.failures.set("iris", { versionId: "v1", count: 3, lastAt: now, message: "exit 1" });
    const result = await reconcile("iris");
    expect(provider.created).toHaveLength(0);
    expect(result.requeueAfterMs).toBe(crashBackoffMs(3));
    now += crashBackoffMs(3);
    await reconcile("iris");
    expect(provider.created).toHaveLength(1);
  });

  test("removes the route and every replica of a deleted API", async () => {
    const { store, provider, reconcile, deploy } = setup();
    deploy("v1", "b1", 2);
    await reconcile("iris");
    store.deleteApi("iris");
    await reconcile("iris");
    expect(provider.replicas).toEqual([]);
    expect(provider.routes.has("iris")).toBe(false);
  });

  test("scales down extra replicas", async () => {
    const { provider, reconcile, deploy } = setup();
    deploy("v1", "b1", 3);
    await reconcile("iris");
    deploy("v1b", "b1", 1);
    provider.replicas.forEach((r) => (r.versionId = "v1b"));
    await reconcile("iris");
    expect(provider.replicas).toHaveLength(1);
  });

  test("backoff doubles up to a minute", () => {
    expect([1, 2, 3, 4, 10].map(crashBackoffMs)).toEqual([1000, 2000, 4000, 8000, 60000]);
  });
});
