/**
 * Prediction monitoring end to end: the iris example with Cortex 0.20's `monitoring` block (and
 * Cortex 0.14's `tracker` spelling) deployed by the built CLI on a real daemon; known requests give
 * exact class counts in `axon get`, `?debug=true` logs payload and prediction with the request id,
 * and the counts survive a `kill -9` of the daemon.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, test } from "vitest";
import type { ApiDetail } from "@axon/control-plane/api";
import {
  copyExample,
  isAlive,
  makeTestCluster,
  postJson,
  waitFor,
  type TestCluster,
} from "./helpers.js";

const VIRGINICA = [5.9, 3.0, 5.1, 1.8];
const SETOSA = [5.1, 3.5, 1.4, 0.2];

async function detail(c: TestCluster, api: string): Promise<ApiDetail> {
  const get = await c.axon(["get", api, "-o", "json"]);
  expect(get.code, get.stderr).toBe(0);
  return JSON.parse(get.stdout) as ApiDetail;
}

/** The class counts `axon get` reports, once they reach `total` predictions. */
async function classCounts(c: TestCluster, api: string, total: number) {
  return waitFor(`${total} predictions of ${api} recorded`, async () => {
    const monitoring = (await detail(c, api)).monitoring;
    if (monitoring === undefined || monitoring.current.predictions < total) return undefined;
    return Object.fromEntries((monitoring.current.classes ?? []).map((k) => [k.label, k.count]));
  });
}

describe("prediction monitoring", () => {
  test("a Cortex 0.20 monitoring block: exact class counts, ?debug=true logged, counts kept after kill -9", async () => {
    // Given the iris example with `monitoring: {model_type: classification}`
    const c = await makeTestCluster();
    const project = copyExample("iris-sklearn");
    const config = path.join(project, "axon.yaml");
    writeFileSync(
      config,
      `${readFileSync(config, "utf8")}  monitoring:\n    model_type: classification\n`,
    );
    expect((await c.axon(["deploy", project, "--wait"])).code).toBe(0);
    const endpoint = `http://localhost:${c.gatewayPort}/iris-classifier`;

    // When it answers a known sequence, one of them with ?debug=true
    for (const body of [VIRGINICA, SETOSA, VIRGINICA, SETOSA, VIRGINICA]) {
      expect((await postJson(endpoint, body)).status).toBe(200);
    }
    const debugged = await fetch(`${endpoint}?debug=true`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "debug-me-1" },
      body: JSON.stringify(SETOSA),
    });
    expect(await debugged.text()).toBe("setosa");

    // Then `axon get` counts exactly those classes, and shows them as a table
    expect(await classCounts(c, "iris-classifier", 6)).toEqual({ virginica: 3, setosa: 3 });
    const human = await c.axon(["get", "iris-classifier"]);
    expect(human.stdout).toMatch(/monitoring \(classification\), since \S+ ago:/);
    expect(human.stdout).toMatch(/virginica\s+3 \(50%\)/);
    expect(human.stdout).toContain("drift: collecting a baseline: 6 of 1000 predictions");
    // And the debug request's payload and answer are in the log with its id
    const logs = await c.axon(["logs", "iris-classifier"]);
    expect(logs.stdout).toMatch(
      /debug debug-me-1: payload \[5\.1, ?3\.5, ?1\.4, ?0\.2\] → 200 setosa/,
    );

    // When the daemon is killed and started again
    const pid = c.daemonPid() ?? -1;
    process.kill(pid, "SIGKILL");
    await waitFor("the daemon to die", () => (isAlive(pid) ? undefined : true));
    expect((await c.axon(["cluster", "up"])).code).toBe(0);

    // Then the counts are still there
    expect(await classCounts(c, "iris-classifier", 6)).toEqual({ virginica: 3, setosa: 3 });
  });

  test("Cortex 0.14's tracker spelling is mapped, with one deprecation note", async () => {
    const c = await makeTestCluster();
    const project = copyExample("iris-sklearn");
    const config = path.join(project, "axon.yaml");
    writeFileSync(
      config,
      `${readFileSync(config, "utf8")}  tracker:\n    model_type: classification\n`,
    );
    const deploy = await c.axon(["deploy", project, "--wait"]);
    expect(deploy.code).toBe(0);
    expect(deploy.stderr).toContain("tracker is the Cortex 0.14–0.17 spelling of monitoring");
    const endpoint = `http://localhost:${c.gatewayPort}/iris-classifier`;
    expect((await postJson(endpoint, SETOSA)).status).toBe(200);
    await sleep(100);
    expect(await classCounts(c, "iris-classifier", 1)).toEqual({ setosa: 1 });
  });
});
