/**
 * Local cost in `get <api>` (issue 30), end to end with the built CLI, a real daemon and the iris
 * example: after a bounded run of predictions, the API's usage is the CPU time of its workers per
 * 1,000 predictions and the peak memory of a replica — read from the kernel's accounting of the
 * worker processes, which this test reads again independently from /proc.
 */
import { readFileSync, rmSync } from "node:fs";
import { expect, onTestFinished, test } from "vitest";
import type { ApiDetail } from "@axon/control-plane/api";
import {
  copyExample,
  IRIS_REQUEST,
  makeTestCluster,
  postJson,
  workerPidsUnder,
} from "./helpers.js";

const API = "iris-classifier";
const PREDICTIONS = 200;

function peakOf(pid: number): number {
  const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(match?.[1] ?? 0) * 1024;
}

test("get <api> shows CPU-seconds per 1,000 predictions and the peak memory of a replica", async () => {
  // Given a live iris API (one replica) that answered 200 predictions
  const c = await makeTestCluster();
  const project = copyExample("iris-sklearn");
  onTestFinished(() => rmSync(project, { recursive: true, force: true }));
  const deployed = await c.axon(["deploy", project, "--wait"], { timeoutMs: 120_000 });
  expect(deployed.code, deployed.stderr).toBe(0);
  const endpoint = `http://localhost:${c.gatewayPort}/${API}`;
  for (let i = 0; i < PREDICTIONS; i++) {
    expect((await postJson(endpoint, IRIS_REQUEST)).text).toBe("virginica");
  }

  // When the API is shown
  const get = await c.axon(["get", API, "-o", "json"]);
  expect(get.code, get.stderr).toBe(0);
  const detail = JSON.parse(get.stdout) as ApiDetail;

  // Then its cost is the local usage: the predictions, CPU-seconds with units, per 1,000
  const cost = detail.cost;
  if (cost?.engine !== "local") throw new Error(`no local cost in ${get.stdout}`);
  expect(cost.replicas).toBe(1);
  expect(cost.predictions).toBe(PREDICTIONS);
  expect(cost.cpu.unit).toBe("CPU-seconds");
  // Loading scikit-learn and the model alone takes CPU: never zero
  expect(cost.cpu.seconds).toBeGreaterThan(0);
  expect(cost.cpuPerThousandPredictions).toEqual({
    seconds: expect.closeTo((cost.cpu.seconds * 1000) / PREDICTIONS, 2),
    unit: "CPU-seconds/1k",
  });
  // And the peak memory holds the worker's own high-water mark, as /proc says it (the replica's
  // process tree also counts its launcher, a sandbox's bubblewrap: a few MiB, not another worker)
  const workers = workerPidsUnder(c.home);
  expect(workers).toHaveLength(1);
  const peak = workers.reduce((sum, pid) => sum + peakOf(pid), 0);
  expect(cost.peakMemoryPerReplica.unit).toBe("bytes");
  expect(cost.peakMemoryPerReplica.bytes).toBeGreaterThanOrEqual(peak);
  expect(cost.peakMemoryPerReplica.bytes).toBeLessThan(peak * 1.5);

  // And the human view says it in words
  const human = await c.axon(["get", API]);
  expect(human.stdout).toMatch(/usage: [0-9.]+ CPU-seconds per 1,000 predictions; peak memory /);
}, 180_000);
