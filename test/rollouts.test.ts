/**
 * Rollouts that last, end to end with the built CLI, a real daemon and the iris example: a new
 * version that cannot start is rolled back automatically and stays rolled back across a `kill -9`
 * of the daemon; `axon rollback` goes back in history; the daemon killed mid-roll or mid-scale-out
 * converges to the desired version and count with no duplicate or orphaned worker.
 */
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, test } from "vitest";
import type { ApiDetail } from "@axon/control-plane/api";
import {
  copyExample,
  IRIS_REQUEST,
  isAlive,
  makeTestCluster,
  postJson,
  waitFor,
  workerPidsUnder,
  type TestCluster,
} from "./helpers.js";

async function detail(c: TestCluster, api = "iris-classifier"): Promise<ApiDetail> {
  const get = await c.axon(["get", api, "-o", "json"]);
  expect(get.code, get.stderr).toBe(0);
  return JSON.parse(get.stdout) as ApiDetail;
}

/** Kills the daemon with SIGKILL, waits for it and its workers to be gone, and starts it again. */
async function killAndRestart(c: TestCluster): Promise<void> {
  const pid = c.daemonPid() ?? -1;
  const workers = workerPidsUnder(c.home);
  process.kill(pid, "SIGKILL");
  await waitFor("the daemon to die", () => (isAlive(pid) ? undefined : true));
  await waitFor("its workers to exit", () =>
    workers.every((w) => !isAlive(w)) ? true : undefined,
  );
  expect((await c.axon(["cluster", "up"])).code).toBe(0);
}

describe("automatic rollback", () => {
  test("a version that cannot start is rolled back, keeps the old one serving, and stays rolled back after kill -9", async () => {
    // Given a live iris API
    const c = await makeTestCluster();
    const project = copyExample("iris-sklearn");
    expect((await c.axon(["deploy", project, "--wait"])).code).toBe(0);
    const endpoint = `http://localhost:${c.gatewayPort}/iris-classifier`;
    const good = (await detail(c)).versions[0]?.id;

    // When a version whose predictor cannot be imported is deployed
    appendFileSync(path.join(project, "predictor.py"), "\nimport a_module_that_is_not_installed\n");
    expect((await c.axon(["deploy", project])).code).toBe(0);

    // Then it is rolled back to the good version, the API says error with why and what serves,
    // and the endpoint answered throughout
    const rolledBack = await waitFor(
      "the rollback",
      async () => {
        expect((await postJson(endpoint, IRIS_REQUEST)).text).toBe("virginica");
        const d = await detail(c);
        return d.status === "error" && d.versions.find((v) => v.current)?.id === good
          ? d
          : undefined;
      },
      60_000,
    );
    const bad = rolledBack.versions[0]?.id;
    expect(bad).not.toBe(good);
    expect(rolledBack.statusMessage).toMatch(
      new RegExp(
        `^version ${bad} was rolled back: its replicas failed 3 times in a row .*a_module_that_is_not_installed.*; version ${good} is serving`,
      ),
    );
    expect(rolledBack.events.map((e) => e.kind)).toContain("rollout.rolled_back");
    const logs = await c.axon(["logs", "iris-classifier"]);
    expect(logs.stdout).toContain("No module named 'a_module_that_is_not_installed'");

    // When the daemon is killed and started again
    await killAndRestart(c);

    // Then the good version comes back (not the failing one), once, and serves
    const back = await waitFor("the good version live again", async () => {
      const d = await detail(c);
      return d.replicas.upToDate === 1 ? d : undefined;
    });
    expect(back.versions.find((v) => v.current)?.id).toBe(good);
    expect(back.status).toBe("error");
    expect((await postJson(endpoint, IRIS_REQUEST)).text).toBe("virginica");
    expect(workerPidsUnder(c.home)).toHaveLength(1);
  });
});

describe("axon rollback", () => {
  test("goes back to the version that was live before the current one", async () => {
    // Given an API deployed twice, both versions live in turn
    const c = await makeTestCluster();
    const project = copyExample("iris-sklearn");
    expect((await c.axon(["deploy", project, "--wait"])).code).toBe(0);
    const config = path.join(project, "axon.yaml");
    writeFileSync(config, `${readFileSync(config, "utf8")}    config:\n      model: model.pkl\n`);
    expect((await c.axon(["deploy", project, "--wait"])).code).toBe(0);
    const [second, first] = (await detail(c)).versions;
    expect(second?.liveAt).not.toBeNull();
    expect(first?.liveAt).not.toBeNull();

    // When it is rolled back
    const rollback = await c.axon(["rollback", "iris-classifier", "-o", "json"]);

    // Then the first version is current again and goes live
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(JSON.parse(rollback.stdout)).toEqual({
      message: `rolling back iris-classifier to version ${first?.id}`,
      versionId: first?.id,
    });
    await waitFor("the first version live", async () => {
      const d = await detail(c);
      return d.status === "live" &&
        d.versions.find((v) => v.current)?.id === first?.id &&
        d.replicas.stale === 0
        ? true
        : undefined;
    });
    // And a version that does not exist is a clear error
    const unknown = await c.axon(["rollback", "iris-classifier", "v-nope"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("iris-classifier has no version v-nope");
  });
});

describe("kill -9 mid-change", () => {
  test("mid-roll: the restarted daemon converges to the new version with one worker and no orphan", async () => {
    // Given a live API, and a new version whose predictor takes 3 s to load
    const c = await makeTestCluster();
    const project = copyExample("iris-sklearn");
    expect((await c.axon(["deploy", project, "--wait"])).code).toBe(0);
    const predictor = path.join(project, "predictor.py");
    writeFileSync(
      predictor,
      readFileSync(predictor, "utf8").replace(
        "    def __init__(self, config):\n",
        "    def __init__(self, config):\n        import time\n        time.sleep(3)\n",
      ),
    );
    expect((await c.axon(["deploy", project])).code).toBe(0);
    const target = (await detail(c)).versions[0]?.id;
    await waitFor("the roll to be under way", () =>
      workerPidsUnder(c.home).length === 2 ? true : undefined,
    );

    // When the daemon is killed in the middle of the roll, and started again
    await killAndRestart(c);

    // Then the new version is live with exactly one worker, and nothing of the old run is left
    await waitFor(
      "the new version live",
      async () => {
        const d = await detail(c);
        return d.status === "live" && d.versions.find((v) => v.current)?.id === target
          ? true
          : undefined;
      },
      60_000,
    );
    expect(workerPidsUnder(c.home)).toHaveLength(1);
    const events = (await detail(c)).events.map((e) => e.kind);
    expect(events).toContain("api.resumed");
    expect(events).toContain("rollout.finished");
  });

  test("mid-scale-out: the restarted daemon runs the requested count, once", async () => {
    // Given a live API scaled from 1 to 3 replicas by its config (no restart of the first)
    const c = await makeTestCluster();
    const project = copyExample("iris-sklearn");
    expect((await c.axon(["deploy", project, "--wait"])).code).toBe(0);
    const config = path.join(project, "axon.yaml");
    writeFileSync(
      config,
      `${readFileSync(config, "utf8")}  autoscaling:\n    min_replicas: 3\n    max_replicas: 3\n`,
    );
    const first = workerPidsUnder(c.home);
    expect((await c.axon(["deploy", project])).code).toBe(0);
    await waitFor("the scale-out to be under way", () =>
      workerPidsUnder(c.home).length > 1 ? true : undefined,
    );
    expect(workerPidsUnder(c.home)).toEqual(expect.arrayContaining(first));

    // When the daemon is killed during the scale-out, and started again
    await killAndRestart(c);

    // Then it runs exactly 3 replicas of the current version
    await waitFor("3 ready replicas", async () => {
      const d = await detail(c);
      return d.status === "live" && d.replicas.upToDate === 3 ? true : undefined;
    });
    expect(workerPidsUnder(c.home)).toHaveLength(3);
  });
});
