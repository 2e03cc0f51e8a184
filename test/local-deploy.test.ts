/**
 * The acceptance scenario of the local deploy, end to end against the built CLI, a real daemon in a
 * temp $AXON_HOME and real Python replicas of examples/iris-sklearn.
 */
import { spawn } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, test } from "vitest";
import {
  CLI,
  copyExample,
  IRIS_REQUEST,
  isAlive,
  makeTestCluster,
  postJson,
  waitFor,
  workerPidsUnder,
} from "./helpers.js";

describe("local deploy of the iris example", () => {
  test("deploy, query, get, logs, redeploy, update, delete, cluster down", async () => {
    // Given a fresh home with no daemon and a copy of the iris example
    const c = await makeTestCluster();
    const project = copyExample("iris-sklearn");
    const endpoint = `http://localhost:${c.gatewayPort}/iris-classifier`;

    // When the user deploys it (this also starts the local control plane)
    const deploy = await c.axon(["deploy", project, "--wait"]);

    // Then the API is created and live when the command returns
    expect(deploy.stderr + deploy.stdout).toContain("creating iris-classifier (RealtimeAPI)");
    expect(deploy.code).toBe(0);
    const prediction = await postJson(endpoint, IRIS_REQUEST);
    expect(prediction.status).toBe(200);
    expect(prediction.text).toBe("virginica");

    // And `axon predict` gives the same answer
    const predicted = await c.axon([
      "predict",
      "iris-classifier",
      path.join(project, "sample.json"),
    ]);
    expect(predicted.code).toBe(0);
    expect(predicted.stdout).toContain("virginica");

    // And `axon get` lists it live, in text and JSON
    const list = await c.axon(["get", "-o", "json"]);
    expect(list.code).toBe(0);
    const apis = (
      JSON.parse(list.stdout) as {
        apis: Array<{ name: string; status: string; replicas: { upToDate: number } }>;
      }
    ).apis;
    expect(apis).toHaveLength(1);
    expect(apis[0]).toMatchObject({
      name: "iris-classifier",
      status: "live",
      replicas: { upToDate: 1 },
    });
    const table = await c.axon(["get"]);
    expect(table.stdout).toMatch(/iris-classifier\s+live/);
    const detail = await c.axon(["get", "iris-classifier", "-o", "json"]);
    const info = JSON.parse(detail.stdout) as {
      endpoint: string;
      exampleCurl: string;
      spec: { predictor: { path: string } };
    };
    expect(info.endpoint).toBe(endpoint);
    expect(info.exampleCurl).toContain(endpoint);
    expect(info.spec.predictor.path).toBe("predictor.py");

    // And `axon logs` shows what the predictor printed
    const logs = await c.axon(["logs", "iris-classifier"]);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toContain("iris model loaded");

    // And `axon logs -f` follows: it shows new lines as the API writes them
    const follower = spawn(
      process.execPath,
      [CLI, "logs", "iris-classifier", "-f", "--tail", "0"],
      { env: c.env },
    );
    let followed = "";
    follower.stdout.on("data", (chunk: Buffer) => (followed += chunk.toString()));
    try {
      await new Promise((r) => setTimeout(r, 500));
      await postJson(endpoint, ["not", "numbers", 1, 2]); // a predictor error writes a traceback
      await waitFor("the follower to see the traceback", () =>
        followed.includes("Traceback") ? true : undefined,
      );
    } finally {
      follower.kill("SIGINT");
    }

    // When it is deployed again unchanged, nothing changes
    const again = await c.axon(["deploy", project, "--wait"]);
    expect(again.stdout + again.stderr).toContain("iris-classifier (RealtimeAPI) is up to date");

    // When the predictor's code changes, the replicas roll to the new code
    const predictorFile = path.join(project, "predictor.py");
    const source = readFileSync(predictorFile, "utf8");
    writeFileSync(
      predictorFile,
      `${source}\n\n_original_predict = PythonPredictor.predict\nPythonPredictor.predict = lambda self, payload: "v2:" + _original_predict(self, payload)\n`,
    );
    const update = await c.axon(["deploy", project, "--wait"]);
    expect(update.stdout + update.stderr).toContain("updating iris-classifier (RealtimeAPI)");
    await waitFor("the new version to answer", async () => {
      const r = await postJson(endpoint, IRIS_REQUEST);
      return r.text.includes("v2:virginica") ? true : undefined;
    });
    const workersAfterUpdate = await waitFor("stale replicas to stop", () => {
      const pids = workerPidsUnder(c.home);
      return pids.length === 1 ? pids : undefined;
    });

    // When it is deleted, its endpoint answers 404 and its processes are gone
    const deleted = await c.axon(["delete", "iris-classifier", "--yes"]);
    expect(deleted.code).toBe(0);
    expect((await postJson(endpoint, IRIS_REQUEST)).status).toBe(404);
    await waitFor("workers to exit", () =>
      workersAfterUpdate.every((pid) => !isAlive(pid)) ? true : undefined,
    );

    // When the cluster is stopped, the daemon is gone
    const clusterInfo = await c.axon(["cluster", "info", "-o", "json"]);
    expect(clusterInfo.code).toBe(0);
    const daemonPid = (JSON.parse(clusterInfo.stdout) as { pid: number }).pid;
    const down = await c.axon(["cluster", "down", "--yes"]);
    expect(down.code).toBe(0);
    await waitFor("the daemon to exit", () => (isAlive(daemonPid) ? undefined : true));
  });
});

describe("Cortex configs deploy unchanged", () => {
  test("a 0.14-era cortex.yaml (no kind, top-level endpoint, workers_per_replica) deploys with deprecation notes", async () => {
    // Given the iris project with a Cortex 0.14 cortex.yaml and no axon.yaml
    const c = await makeTestCluster();
    const project = copyExample("iris-sklearn");
    rmSync(path.join(project, "axon.yaml"));
    writeFileSync(
      path.join(project, "cortex.yaml"),
      [
        "- name: iris",
        "  endpoint: /legacy/iris",
        "  predictor:",
        "    type: python",
        "    path: predictor.py",
        "  tracker:",
        "    model_type: classification",
        "  compute:",
        "    cpu: 0.2",
        "  autoscaling:",
        "    workers_per_replica: 2",
        "    threads_per_worker: 1",
        "    downscale_stabilization_period: 5m0s",
        "  update_strategy:",
        "    max_surge: 1",
        "    max_unavailable: 0",
        "",
      ].join("\n"),
    );

    // When it is deployed from inside the project folder
    const deploy = await c.axon(["deploy", "--wait"], { cwd: project });

    // Then the old spellings are noted, and the API serves at its endpoint with two worker processes
    expect(deploy.code).toBe(0);
    expect(deploy.stderr).toMatch(/workers_per_replica/);
    expect(deploy.stdout).toContain("creating iris (RealtimeAPI)");
    const prediction = await postJson(
      `http://localhost:${c.gatewayPort}/legacy/iris`,
      IRIS_REQUEST,
    );
    expect(prediction.text).toBe("virginica");
    expect(workerPidsUnder(c.home)).toHaveLength(2);
  });
});
