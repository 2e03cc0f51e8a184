/**
 * `axon deploy --plan` (issue 30), end to end with the built CLI, a real daemon and the iris
 * example: for a new API, an unchanged config, an autoscaling-only change, a requirements change
 * and a code change, the plan is made, then the same project is deployed, and what happened —
 * worker processes replaced or kept, the Python environment built or reused, a version recorded
 * or not — is compared with what the plan said. pip is real, offline, from a folder of tiny wheels.
 */
import { appendFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, onTestFinished, test } from "vitest";
import type { ApiDetail, ApiPreview, DeployPreviewResponse } from "@axon/control-plane/api";
import { buildTinyWheel } from "../packages/control-plane/src/providers/local/environments/testing/wheels.js";
import {
  copyExample,
  IRIS_REQUEST,
  makeTestCluster,
  postJson,
  waitFor,
  workerPidsUnder,
  type TestCluster,
} from "./helpers.js";

const API = "iris-classifier";
/** `deploy --plan`'s exit code when something would change (README's exit-code table). */
const CHANGES = 3;

async function plan(c: TestCluster, project: string): Promise<{ code: number; iris: ApiPreview }> {
  const result = await c.axon(["deploy", project, "--plan", "-o", "json"]);
  expect([0, CHANGES], result.stderr).toContain(result.code);
  const response = JSON.parse(result.stdout) as DeployPreviewResponse;
  expect(response.changes).toBe(result.code === CHANGES);
  const iris = response.apis.find((api) => api.api === API);
  if (iris === undefined) throw new Error(`no ${API} in the plan: ${result.stdout}`);
  return { code: result.code, iris };
}

async function detail(c: TestCluster): Promise<ApiDetail> {
  const get = await c.axon(["get", API, "-o", "json"]);
  expect(get.code, get.stderr).toBe(0);
  return JSON.parse(get.stdout) as ApiDetail;
}

function environmentKeyOf(api: ApiDetail): string | null {
  return api.runtime.engine === "local" ? api.runtime.python.key : null;
}

/** Deploys and waits until only the current version's workers run (a roll has finished). */
async function deployAndSettle(c: TestCluster, project: string): Promise<number[]> {
  const deployed = await c.axon(["deploy", project, "--wait", "-y"], { timeoutMs: 180_000 });
  expect(deployed.code, deployed.stderr).toBe(0);
  return waitFor(
    "the old replicas to finish stopping",
    async () => {
      const api = await detail(c);
      const pids = workerPidsUnder(c.home);
      return api.status === "live" && api.replicas.stale === 0 && pids.length > 0
        ? pids.sort((a, b) => a - b)
        : undefined;
    },
    60_000,
  );
}

function writeConfig(project: string, autoscaling: string): void {
  writeFileSync(
    path.join(project, "axon.yaml"),
    `- name: ${API}\n  kind: RealtimeAPI\n  predictor:\n    type: python\n    path: predictor.py\n${autoscaling}`,
  );
}

test("each plan says what the deploy then does: created, unchanged, autoscaling only, requirements, code", async () => {
  // Given a cluster whose pip installs only from a folder holding one tiny wheel, and the iris project
  const wheels = mkdtempSync(path.join(os.tmpdir(), "axon-plan-wheels-"));
  onTestFinished(() => rmSync(wheels, { recursive: true, force: true }));
  buildTinyWheel(wheels, "axontiny", "1.0");
  const c = await makeTestCluster();
  c.env.PIP_NO_INDEX = "1";
  c.env.PIP_FIND_LINKS = wheels;
  const project = copyExample("iris-sklearn");
  onTestFinished(() => rmSync(project, { recursive: true, force: true }));
  const endpoint = `http://localhost:${c.gatewayPort}/${API}`;

  // When the API does not exist yet, then the plan creates it, starting replicas on the base
  // interpreter, and exits 3; and the deploy creates one version
  const created = await plan(c, project);
  expect(created.code).toBe(CHANGES);
  expect(created.iris).toMatchObject({
    outcome: "created",
    newVersion: true,
    replicas: "start",
    environment: "none",
  });
  expect(created.iris.rollout).toMatchObject({ strategy: "rolling", replicas: 1 });
  let pids = await deployAndSettle(c, project);
  expect((await detail(c)).versions).toHaveLength(1);
  expect((await postJson(endpoint, IRIS_REQUEST)).text).toBe("virginica");

  // When nothing changed, then the plan says unchanged and exits 0; the deploy records no version
  // and the same workers serve
  const unchanged = await plan(c, project);
  expect(unchanged.code).toBe(0);
  expect(unchanged.iris).toMatchObject({
    outcome: "unchanged",
    newVersion: false,
    replicas: "none",
    changedFields: [],
    codeChanged: false,
  });
  expect(unchanged.iris.rollout).toBeUndefined();
  expect(await deployAndSettle(c, project)).toEqual(pids);
  expect((await detail(c)).versions).toHaveLength(1);

  // When only an autoscaling limit changes, then the plan names the field and keeps the replicas;
  // the deploy records a version and the very same worker processes carry on
  writeConfig(project, "  autoscaling:\n    max_replicas: 3\n");
  const scaling = await plan(c, project);
  expect(scaling.code).toBe(CHANGES);
  expect(scaling.iris).toMatchObject({
    outcome: "updated",
    newVersion: true,
    replicas: "keep",
    environment: "none",
    codeChanged: false,
  });
  expect(scaling.iris.changedFields.map((f) => f.field)).toEqual(["autoscaling.max_replicas"]);
  expect(scaling.iris.changedFields[0]).toMatchObject({ before: 100, after: 3 });
  expect(scaling.iris.rollout).toBeUndefined();
  expect(await deployAndSettle(c, project)).toEqual(pids);
  expect((await detail(c)).versions).toHaveLength(2);

  // When the requirements change, then the plan builds a new environment and restarts the
  // replicas; the deploy builds exactly that environment and every worker is replaced
  writeFileSync(path.join(project, "requirements.txt"), "axontiny==1.0\n");
  const requirements = await plan(c, project);
  expect(requirements.code).toBe(CHANGES);
  expect(requirements.iris).toMatchObject({
    outcome: "updated",
    newVersion: true,
    replicas: "restart",
    environment: "build",
  });
  expect(requirements.iris.replicasReason).toContain("requirements");
  expect(requirements.iris.rollout).toMatchObject({ strategy: "rolling", replicas: 1 });
  const key = requirements.iris.environmentKey;
  expect(key).toMatch(/^[0-9a-f]{32}$/);
  expect(existsSync(path.join(c.home, "envs", String(key)))).toBe(false);
  const afterRequirements = await deployAndSettle(c, project);
  expect(afterRequirements.filter((pid) => pids.includes(pid))).toEqual([]);
  pids = afterRequirements;
  const withEnv = await detail(c);
  expect(environmentKeyOf(withEnv)).toBe(key);
  expect(withEnv.versions).toHaveLength(3);

  // When only the code changes, then the plan reuses that environment and restarts the
  // replicas; the deploy replaces every worker and runs in the same environment
  appendFileSync(path.join(project, "predictor.py"), "\n# a change of the code\n");
  const code = await plan(c, project);
  expect(code.code).toBe(CHANGES);
  expect(code.iris).toMatchObject({
    outcome: "updated",
    newVersion: true,
    replicas: "restart",
    environment: "reuse",
    environmentKey: key,
    codeChanged: true,
    changedFields: [],
  });
  expect(code.iris.replicasReason).toContain("files changed");
  const afterCode = await deployAndSettle(c, project);
  expect(afterCode.filter((pid) => pids.includes(pid))).toEqual([]);
  const final = await detail(c);
  expect(environmentKeyOf(final)).toBe(key);
  expect(final.versions).toHaveLength(4);
  expect((await postJson(endpoint, IRIS_REQUEST)).text).toBe("virginica");
}, 600_000);

test("the human plan is an aligned list per API and a summary; nothing is deployed", async () => {
  // Given the iris project, not deployed
  const c = await makeTestCluster();
  const project = copyExample("iris-sklearn");
  onTestFinished(() => rmSync(project, { recursive: true, force: true }));

  // When its plan is shown
  const shown = await c.axon(["deploy", project, "--plan"]);

  // Then it says what would be created, exits 3, and nothing was deployed
  expect(shown.code, shown.stderr).toBe(CHANGES);
  expect(shown.stdout).toContain(`+ ${API} (RealtimeAPI): create`);
  expect(shown.stdout).toMatch(/replicas +start: 1 new replica/);
  expect(shown.stdout).toMatch(/environment +none \(base interpreter\)/);
  expect(shown.stdout).toContain("plan for local: 1 to create, 0 to update, 0 unchanged");
  const list = await c.axon(["get", "-o", "json"]);
  expect(JSON.parse(list.stdout)).toMatchObject({ apis: [] });
}, 120_000);
