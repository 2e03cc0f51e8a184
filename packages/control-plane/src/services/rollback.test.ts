import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { DomainError } from "../errors.js";
import { RecordingSink } from "../events/event-sink.js";
import { StateStore } from "../state/store.js";
import { apiSpec } from "../testing/specs.js";
import { rollbackApi } from "./rollback.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** An API with versions v1 (live once), v2 (live, min 2) and v3 (current, never live). */
function setup() {
  const dir = mkdtempSync(path.join(os.tmpdir(), "axon-rollback-"));
  dirs.push(dir);
  const store = StateStore.open(path.join(dir, "state.db"));
  store.addBundle("b", 1);
  const put = (id: string, at: string, minReplicas: number): void =>
    store.putApiVersion(
      {
        id,
        apiName: "iris",
        spec: apiSpec(
          "iris",
          `  autoscaling:\n    min_replicas: ${minReplicas}\n    max_replicas: 5\n`,
        ),
        specHash: id,
        bundle: "b",
        configFile: "axon.yaml",
        projectPath: null,
        artifact: { envKey: null },
        createdAt: at,
      },
      "RealtimeAPI",
      3,
    );
  put("v1", "2026-12-01T00:00:00.000Z", 1);
  store.setLiveVersion("iris", "v1", new Date("2026-12-01T00:01:00Z"));
  put("v2", "2026-12-02T00:00:00.000Z", 2);
  store.setLiveVersion("iris", "v2", new Date("2026-12-02T00:01:00Z"));
  put("v3", "2026-12-03T00:00:00.000Z", 1);
  const events = new RecordingSink();
  const enqueued: string[] = [];
  const deps = {
    store,
    events,
    enqueue: (name: string) => enqueued.push(name),
    now: () => new Date("2026-12-03T12:00:00Z"),
  };
  return { store, events, enqueued, deps };
}

describe("rollbackApi", () => {
  test("without a version, goes to the newest other version that was live", () => {
    const { store, events, enqueued, deps } = setup();
    expect(rollbackApi(deps, "iris")).toEqual({
      message: "rolling back iris to version v2",
      versionId: "v2",
    });
    expect(store.getApi("iris")).toMatchObject({
      currentVersion: { id: "v2" },
      requested: 3,
      updatedAt: "2026-12-03T12:00:00.000Z",
    });
    expect(events.events).toEqual([
      { kind: "rollback.requested", api: "iris", fromVersionId: "v3", toVersionId: "v2" },
    ]);
    expect(enqueued).toEqual(["iris"]);
  });

  test("to a named version; the replica count is kept within that version's bounds", () => {
    const { store, deps } = setup();
    store.setRequested("iris", 1);
    rollbackApi(deps, "iris", "v2");
    expect(store.getApi("iris")).toMatchObject({ currentVersion: { id: "v2" }, requested: 2 });
  });

  test("an unknown version is a 404 naming the versions there are; the current one is a no-op", () => {
    const { store, deps } = setup();
    expect(() => rollbackApi(deps, "iris", "v9")).toThrow(
      expect.objectContaining({
        code: "rollback.no_version",
        status: 404,
        hint: "versions of iris: v3, v2, v1; see `axon get iris`",
      }) as DomainError,
    );
    expect(rollbackApi(deps, "iris", "v3").message).toBe("iris already runs version v3");
    expect(store.getApi("iris")?.currentVersion.id).toBe("v3");
  });
});
