/**
 * `predictor.smoke_test` (issue 30), end to end with the built CLI, a real daemon and the iris
 * example: a version whose replicas answer the smoke test right goes live; one whose answer does
 * not match never serves — it is rolled back, the old version answers every request of a bounded
 * load meanwhile, and `deploy`, `get` and the events name the payload, the expected and the actual
 * answer.
 */
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { expect, onTestFinished, test } from "vitest";
import type { ApiDetail } from "@axon/control-plane/api";
import { copyExample, IRIS_REQUEST, makeTestCluster, postJson, waitFor } from "./helpers.js";

const API = "iris-classifier";
/** Sequential requests at most, while the bad version rolls out and back. */
const MAX_REQUESTS = 3000;

function writeConfig(project: string, expectJson: string): void {
  writeFileSync(
    path.join(project, "axon.yaml"),
    `- name: ${API}\n  kind: RealtimeAPI\n  predictor:\n    type: python\n    path: predictor.py\n    smoke_test:\n      payload: sample.json\n      expect_status: 200\n      expect_json: ${expectJson}\n`,
  );
}

test("a version whose smoke test fails never serves: the old one answers everything, and the failure is named", async () => {
  // Given iris live with a smoke test its model passes (sample.json is virginica)
  const c = await makeTestCluster();
  const project = copyExample("iris-sklearn");
  onTestFinished(() => rmSync(project, { recursive: true, force: true }));
  writeConfig(project, "virginica");
  const good = await c.axon(["deploy", project, "--wait"], { timeoutMs: 120_000 });
  expect(good.code, good.stderr).toBe(0);
  const endpoint = `http://localhost:${c.gatewayPort}/${API}`;
  expect((await postJson(endpoint, IRIS_REQUEST)).text).toBe("virginica");

  // When a version that expects another answer is deployed, under a bounded sequential load
  let stop = false;
  const answers: string[] = [];
  const load = (async (): Promise<void> => {
    for (let i = 0; i < MAX_REQUESTS && !stop; i++) {
      const response = await postJson(endpoint, IRIS_REQUEST);
      answers.push(`${response.status} ${response.text}`);
    }
  })();
  writeConfig(project, "setosa");
  const bad = await c.axon(["deploy", project, "--wait", "--wait-timeout", "90s"], {
    timeoutMs: 120_000,
  });

  // Then the deploy fails naming the payload, the expected and the actual answer
  expect(bad.code).toBe(1);
  expect(bad.stderr).toContain(
    'smoke test failed: POST sample.json answered 200 virginica, expected status 200 and a body containing "setosa"',
  );

  // And the version is rolled back: get says why, the events carry the replica's failure
  const detail = await waitFor(
    "the rollback",
    async () => {
      const get = await c.axon(["get", API, "-o", "json"]);
      const api = JSON.parse(get.stdout) as ApiDetail;
      return api.events.some((e) => e.kind === "rollout.rolled_back") ? api : undefined;
    },
    60_000,
  );
  expect(detail.statusMessage).toContain("smoke test failed: POST sample.json answered 200");
  expect(
    detail.events.some(
      (e) => e.kind === "replica.failed" && e.message.includes("smoke test failed"),
    ),
  ).toBe(true);

  // And the old version answered every request of the load, right, throughout
  stop = true;
  await load;
  expect(answers.length).toBeGreaterThan(0);
  expect(answers.filter((answer) => answer !== "200 virginica")).toEqual([]);
}, 240_000);
