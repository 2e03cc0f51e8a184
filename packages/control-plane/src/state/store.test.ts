import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, describe, expect, test } from "vitest";
import { apiSpec } from "../testing/specs.js";
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

function version(id: string, apiName: string, bundle: string): Omit<ApiVersionRecord, "liveAt"> {
  return {
    id,
    apiName,
    spec: apiSpec(apiName),
    specHash: `hash-${id}`,
    bundle,
    configFile: "axon.yaml",
    projectPath: "/p",
    artifact: { envKey: null },
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
    store.addEvent("iris", { type: "info", kind: "deploy.recorded", message: "updated" });
    store.close();

    // When it is opened again
    const reopened = StateStore.open(file);

    // Then the current version, history and events are all there
    const api = reopened.getApi("iris");
    expect(api?.currentVersion.id).toBe("v2");
    expect(api?.requested).toBe(2);
    expect(api?.currentVersion.spec).toEqual(apiSpec("iris"));
    expect(api?.currentVersion.artifact).toEqual({ envKey: null });
    expect(reopened.listVersions("iris").map((v) => v.id)).toEqual(["v2", "v1"]);
    expect(reopened.listEvents("iris")).toMatchObject([
      { type: "info", kind: "deploy.recorded", message: "updated" },
    ]);
    expect(reopened.hasBundle("b1")).toBe(true);
    reopened.close();
  });

  test("deleting an API removes its versions and events but not other APIs", () => {
    const store = StateStore.open(tempDb());
    store.addBundle("b", 1);
    store.putApiVersion(version("v1", "a", "b"), "RealtimeAPI", 1);
    store.putApiVersion(version("v2", "b", "b"), "RealtimeAPI", 1);
    store.addEvent("a", { type: "info", message: "x" });
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
    for (let i = 0; i < 230; i++) store.addEvent("a", { type: "info", message: `e${i}` });
    const events = store.listEvents("a", 1000);
    expect(events).toHaveLength(200);
    expect(events.at(-1)?.message).toBe("e229");
    store.close();
  });

  test("records the live version only while it is still the current one", () => {
    const store = StateStore.open(tempDb());
    store.addBundle("b", 1);
    store.putApiVersion(version("v1", "a", "b"), "RealtimeAPI", 1);
    store.setLiveVersion("a", "v1", new Date("2026-12-01T00:00:00Z"));
    // A new version does not change what was live
    store.putApiVersion(version("v2", "a", "b"), "RealtimeAPI", 1);
    expect(store.getApi("a")).toMatchObject({
      liveVersionId: "v1",
      liveAt: "2026-12-01T00:00:00.000Z",
    });
    // A late report about v1 cannot mark it live once v2 is current
    store.setLiveVersion("a", "v1", new Date("2026-12-02T00:00:00Z"));
    expect(store.getApi("a")?.liveAt).toBe("2026-12-01T00:00:00.000Z");
    store.close();
  });

  test("opens a database written before artifacts and live versions: env_key becomes the artifact", () => {
    // Given a state.db with the first release's schema and one version with an environment
    const file = tempDb();
    const old = new DatabaseSync(file);
    old.exec(`
      CREATE TABLE bundles (sha256 TEXT PRIMARY KEY, bytes INTEGER NOT NULL, created_at TEXT NOT NULL);
      CREATE TABLE api_versions (id TEXT PRIMARY KEY, api_name TEXT NOT NULL, spec_json TEXT NOT NULL,
        spec_hash TEXT NOT NULL, bundle TEXT NOT NULL REFERENCES bundles(sha256), config_file TEXT NOT NULL,
        project_path TEXT, env_key TEXT, created_at TEXT NOT NULL);
      CREATE TABLE apis (name TEXT PRIMARY KEY, kind TEXT NOT NULL, current_version TEXT NOT NULL,
        requested INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
      CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, api_name TEXT NOT NULL, time TEXT NOT NULL,
        type TEXT NOT NULL, message TEXT NOT NULL);
      INSERT INTO bundles VALUES ('b', 1, '2026-11-01');
      INSERT INTO api_versions VALUES ('v1', 'a', '${JSON.stringify(apiSpec("a"))}', 'h', 'b', 'axon.yaml', NULL, 'env-123', '2026-11-01');
      INSERT INTO apis VALUES ('a', 'RealtimeAPI', 'v1', 2, '2026-11-01', '2026-11-01');
      INSERT INTO events (api_name, time, type, message) VALUES ('a', '2026-11-01', 'info', 'created version v1');
    `);
    old.close();
    // When this release opens it
    const store = StateStore.open(file);
    // Then nothing is lost and the old columns map onto the new fields
    expect(store.getApi("a")).toMatchObject({
      requested: 2,
      liveVersionId: null,
      currentVersion: { id: "v1", artifact: { envKey: "env-123" } },
    });
    expect(store.listEvents("a")).toEqual([
      { time: "2026-11-01", type: "info", message: "created version v1" },
    ]);
    store.close();
  });
});

describe("StateStore traffic splitters", () => {
  test("Given a splitter recorded, When recorded again changed and unchanged and the file reopened, Then the outcomes and the last spec are kept", () => {
    // Given
    const file = tempDb();
    const store = StateStore.open(file);
    const spec = (a: number) => ({
      name: "ab",
      kind: "TrafficSplitter" as const,
      endpoint: "/ab",
      apis: [
        { name: "a", weight: a },
        { name: "b", weight: 100 - a },
      ],
    });
    // When
    const outcomes = [
      store.putTrafficSplitter(spec(70)),
      store.putTrafficSplitter(spec(70)),
      store.putTrafficSplitter(spec(10)),
    ];
    store.close();
    const reopened = StateStore.open(file);
    // Then
    expect(outcomes).toEqual(["created", "unchanged", "updated"]);
    expect(reopened.listTrafficSplitters().map((record) => record.spec)).toEqual([spec(10)]);
    expect(reopened.listApis()).toEqual([]);
    expect(reopened.deleteTrafficSplitter("ab")).toBe(true);
    expect(reopened.getTrafficSplitter("ab")).toBeUndefined();
    reopened.close();
  });
});
