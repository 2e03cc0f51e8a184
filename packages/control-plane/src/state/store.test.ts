import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { StateStore, type ApiVersionRecord } from "./store.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDb(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "axon-store-"));
  dirs.push(dir);
  return path.join(dir, "state.db");
}

function version(id: string, apiName: string, bundle: string): ApiVersionRecord {
  return {
    id,
    apiName,
    spec: { name: apiName, networking: { endpoint: `/${apiName}` } },
    specHash: `hash-${id}`,
    bundle,
    configFile: "axon.yaml",
    projectPath: "/p",
    envKey: null,
    createdAt: new Date().toISOString(),
  };
}

describe("StateStore", () => {
  test("keeps APIs, versions and events across reopening the file", () => {
    // Given a store with an API updated once
    const file = tempDb();
    const store = StateStore.open(file);
    store.addBundle("b1", 10);
    store.addBundle("b2", 20);
    store.putApiVersion(version("v1", "iris", "b1"), "RealtimeAPI", 1);
    store.putApiVersion(version("v2", "iris", "b2"), "RealtimeAPI", 2);
    store.addEvent("iris", "info", "updated");
    store.close();

    // When it is opened again
    const reopened = StateStore.open(file);

    // Then the current version, history and events are all there
    const api = reopened.getApi("iris");
    expect(api?.currentVersion.id).toBe("v2");
    expect(api?.requested).toBe(2);
    expect(api?.currentVersion.spec).toEqual({ name: "iris", networking: { endpoint: "/iris" } });
    expect(reopened.listVersions("iris").map((v) => v.id)).toEqual(["v2", "v1"]);
    expect(reopened.listEvents("iris").map((e) => e.message)).toEqual(["updated"]);
    expect(reopened.hasBundle("b1")).toBe(true);
    reopened.close();
  });

  test("deleting an API removes its versions and events but not other APIs", () => {
    const store = StateStore.open(tempDb());
    store.addBundle("b", 1);
    store.putApiVersion(version("v1", "a", "b"), "RealtimeAPI", 1);
    store.putApiVersion(version("v2", "b", "b"), "RealtimeAPI", 1);
    store.addEvent("a", "info", "x");
    expect(store.deleteApi("a")).toBe(true);
    expect(store.deleteApi("a")).toBe(false);
    expect(store.getApi("a")).toBeUndefined();
    expect(store.listVersions("a")).toEqual([]);
    expect(store.listEvents("a")).toEqual([]);
    expect(store.listApis().map((a) => a.name)).toEqual(["b"]);
    store.close();
  });

  test("a version must reference a stored bundle", () => {
    const store = StateStore.open(tempDb());
    expect(() => store.putApiVersion(version("v1", "a", "missing"), "RealtimeAPI", 1)).toThrow();
    expect(store.getApi("a")).toBeUndefined();
    store.close();
  });

  test("prunes events beyond the newest 200 per API", () => {
    const store = StateStore.open(tempDb());
    for (let i = 0; i < 230; i++) store.addEvent("a", "info", `e${i}`);
    const events = store.listEvents("a", 1000);
    expect(events).toHaveLength(200);
    expect(events.at(-1)?.message).toBe("e229");
    store.close();
  });

  test("records worker processes per replica", () => {
    const store = StateStore.open(tempDb());
    store.recordWorkerProcesses("r1", "a", [11, 12]);
    store.recordWorkerProcesses("r2", "a", [13]);
    // A replaced worker: the replica's set is replaced, not added to
    store.recordWorkerProcesses("r2", "a", [14]);
    store.forgetReplicaProcesses("r1");
    expect(store.listWorkerProcesses()).toEqual([{ pid: 14, replicaId: "r2", apiName: "a" }]);
    store.close();
  });
});
