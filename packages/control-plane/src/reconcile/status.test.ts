import { describe, expect, test } from "vitest";
import type { ObservedReplica, Provider, ReplicaFailure } from "../providers/provider.js";
import type { ApiRecord } from "../state/store.js";
import { apiSpec } from "../testing/specs.js";
import { summarizeApi } from "./status.js";

function api(requested: number, minReplicas: number): ApiRecord {
  return {
    name: "iris",
    kind: "RealtimeAPI",
    requested,
    liveVersionId: null,
    liveAt: null,
    rolledBack: null,
    createdAt: "2026-11-23T00:00:00.000Z",
    updatedAt: "2026-11-23T00:00:00.000Z",
    currentVersion: {
      id: "v2",
      apiName: "iris",
      spec: apiSpec(
        "iris",
        `  autoscaling:\n    min_replicas: ${minReplicas}\n    max_replicas: ${Math.max(minReplicas, requested)}\n`,
      ),
      specHash: "h",
      bundle: "b",
      configFile: "axon.yaml",
      projectPath: null,
      artifact: {},
      createdAt: "2026-11-23T00:00:00.000Z",
      liveAt: null,
    },
  };
}

/** Only what summarizeApi reads from a provider: what it observes, where it serves. */
function observed(
  replicas: Array<[string, ObservedReplica["phase"]]>,
  failure?: ReplicaFailure,
): Pick<Provider, "observe" | "endpointUrl" | "metrics"> {
  const list = replicas.map(([versionId, phase], i): ObservedReplica => ({
    id: `r${i}`,
    versionId,
    phase,
    startedAt: i,
  }));
  const provider: Pick<Provider, "observe" | "endpointUrl" | "metrics"> = {
    observe: () => ({ replicas: list, failure }),
    endpointUrl: (endpoint) => `http://localhost:8888${endpoint}`,
    metrics: undefined,
  };
  return provider;
}

const crash: ReplicaFailure = {
  versionId: "v2",
  count: 2,
  lastAt: 0,
  message: "worker 0 exited with code 1",
};

describe("summarizeApi (Cortex's status order)", () => {
  test.each([
    [
      "all requested replicas ready",
      1,
      1,
      [["v2", "ready"]],
      undefined,
      "live",
      { upToDate: 1, failed: 0 },
    ],
    ["still starting", 1, 1, [["v2", "starting"]], undefined, "updating", { initializing: 1 }],
    [
      "min_replicas ready while scaling up",
      3,
      1,
      [
        ["v2", "ready"],
        ["v2", "starting"],
      ],
      undefined,
      "live",
      { upToDate: 1, initializing: 1 },
    ],
    [
      "new version crashing, old one serving",
      1,
      1,
      [
        ["v1", "ready"],
        ["v2", "starting"],
      ],
      crash,
      "error",
      { stale: 1, failed: 1, initializing: 0 },
    ],
    [
      "an old version's crash does not taint the new one",
      1,
      1,
      [["v2", "ready"]],
      { ...crash, versionId: "v1" },
      "live",
      { failed: 0 },
    ],
    [
      "stopping replicas are not counted",
      1,
      1,
      [["v2", "stopping"]],
      undefined,
      "updating",
      { upToDate: 0 },
    ],
  ] as const)("%s → %s", (_name, requested, min, replicas, failure, status, counts) => {
    const summary = summarizeApi(
      api(requested, min),
      observed(
        replicas.map(([v, p]) => [v, p]),
        failure,
      ),
    );
    expect(summary.status).toBe(status);
    expect(summary.replicas).toMatchObject(counts);
    expect(summary.endpoint).toBe("http://localhost:8888/iris");
  });

  test("an error says why, where to look, and that the previous version keeps serving", () => {
    const summary = summarizeApi(api(1, 1), observed([["v1", "ready"]], crash));
    expect(summary.statusMessage).toBe(
      "worker 0 exited with code 1; run `axon logs iris`; the previous version keeps serving",
    );
  });

  test("an automatic rollback is an error naming the failed version, why, and the one serving", () => {
    const rolledBack: ApiRecord = {
      ...api(1, 1),
      liveVersionId: "v2",
      rolledBack: { failedVersionId: "v3", reason: "its replicas failed 3 times in a row", at: "" },
    };
    const summary = summarizeApi(rolledBack, observed([["v2", "ready"]]));
    expect(summary.status).toBe("error");
    expect(summary.statusMessage).toBe(
      "version v3 was rolled back: its replicas failed 3 times in a row; version v2 is serving; run `axon logs iris`",
    );
  });

  test("the live version coming back after a restart keeps its status and says so (it is not a rollout)", () => {
    const back: ApiRecord = { ...api(1, 1), liveVersionId: "v2" };
    const summary = summarizeApi(back, observed([["v2", "starting"]]));
    expect(summary.status).toBe("live");
    expect(summary.replicas).toMatchObject({ upToDate: 0, initializing: 1 });
    expect(summary.statusMessage).toBe(
      "version v2 is live; its replicas are starting again (0 of 1 ready)",
    );
  });

  test("a version that never went live is still updating while its replicas start", () => {
    const first: ApiRecord = { ...api(1, 1), liveVersionId: null };
    expect(summarizeApi(first, observed([["v2", "starting"]])).status).toBe("updating");
  });
});
