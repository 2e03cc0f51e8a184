import { describe, expect, it } from "vitest";
import { ConfigError } from "./diagnostics.js";
import { parseApiConfig } from "./parse-config.js";
import { specHash } from "./spec-output.js";

/** A Cortex 0.20 BatchAPI as its docs show it (docs/deployments/batch-api/api-configuration.md). */
const CORTEX_BATCH = `- name: image-classifier
  kind: BatchAPI
  predictor:
    type: python
    path: predictor.py
    config:
      model: s3://bucket/model
    env:
      LOG_LEVEL: info
  networking:
    endpoint: classify/
  compute:
    cpu: 1
    mem: 1Gi
`;

function problems(yaml: string): string[] {
  try {
    parseApiConfig(yaml, "cortex.yaml", { fileExists: (path) => path === "predictor.py" });
  } catch (error) {
    if (error instanceof ConfigError) {
      return error.diagnostics.map((d) => `${d.line ?? "?"} ${d.path}: ${d.message}`);
    }
    throw error;
  }
  return [];
}

describe("kind: BatchAPI (Cortex 0.20)", () => {
  it("Given a Cortex 0.20 BatchAPI beside a RealtimeAPI, When parsed, Then the batch API is resolved apart with its defaults and one process of one thread", () => {
    // Given the file as a Cortex 0.20 user wrote it, plus a realtime API
    const yaml = `${CORTEX_BATCH}- name: iris\n  predictor: {type: python, path: predictor.py}\n`;
    // When parsed
    const parsed = parseApiConfig(yaml, "cortex.yaml");
    // Then the batch API is its own spec, canonical, and not among the realtime APIs
    expect(parsed.apis.map((api) => api.name)).toEqual(["iris"]);
    expect(parsed.batchApis).toEqual([
      {
        name: "image-classifier",
        kind: "BatchAPI",
        predictor: {
          type: "python",
          path: "predictor.py",
          processes_per_replica: 1,
          threads_per_process: 1,
          config: { model: "s3://bucket/model" },
          python_path: null,
          image: null,
          env: { LOG_LEVEL: "info" },
          server_side_batching: null,
        },
        compute: { cpu: "1", gpu: 0, inf: 0, mem: "1Gi" },
        networking: { endpoint: "/classify", api_gateway: "public" },
      },
    ]);
    const [spec] = parsed.batchApis;
    expect(spec === undefined ? "" : specHash(spec)).toMatch(/^[0-9a-f]{64}$/);
  });

  it("Given realtime-only sections and more than one process, When parsed, Then each is named with what to do instead", () => {
    // Given a batch API with autoscaling, an update strategy and 2 processes
    const yaml = `- name: nightly
  kind: BatchAPI
  predictor:
    type: python
    path: predictor.py
    processes_per_replica: 2
  autoscaling:
    max_replicas: 4
  update_strategy:
    max_surge: 1
`;
    // When parsed
    const found = problems(yaml);
    // Then three problems, each on its field and line, and no "key … is not supported" noise
    expect(found).toEqual([
      "6 nightly.predictor.processes_per_replica: must be 1 for a BatchAPI (each worker runs one batch at a time); submit jobs with more `workers` instead (got 2)",
      "7 nightly.autoscaling: a BatchAPI has no autoscaling: each job runs the `workers` its submission asks for, and no replica runs between jobs; remove this section (set `workers` when you submit a job)",
      "9 nightly.update_strategy: a BatchAPI has no update strategy: a deploy applies to the jobs submitted after it; remove this section",
    ]);
  });

  it("Given a batch API whose predictor file is missing and whose endpoint another API uses, When parsed, Then both are said", () => {
    // Given a missing file and a shared endpoint
    const yaml = `- name: nightly\n  kind: BatchAPI\n  predictor: {type: python, path: batch.py}\n  networking: {endpoint: /iris}\n- name: iris\n  predictor: {type: python, path: predictor.py}\n`;
    // When parsed
    const found = problems(yaml);
    // Then the file and the endpoint collision are reported
    expect(
      found.some((line) => line.includes("nightly.predictor.path: file batch.py does not exist")),
    ).toBe(true);
    expect(
      found.some((line) =>
        line.includes("iris.networking.endpoint: endpoint /iris must be unique"),
      ),
    ).toBe(true);
  });

  it("Given a splitter naming a batch API of the file, When parsed, Then it is refused: splitters route to RealtimeAPIs", () => {
    // Given a splitter over a batch API
    const yaml = `${CORTEX_BATCH}- name: split\n  kind: TrafficSplitter\n  apis:\n    - name: image-classifier\n      weight: 100\n`;
    // When parsed
    const found = problems(yaml);
    // Then the backend is named
    expect(found).toContainEqual(
      expect.stringContaining(
        "split.apis.0.name: image-classifier is a BatchAPI; a splitter sends traffic to RealtimeAPIs only",
      ),
    );
  });
});
