/**
 * What must not break: a daemon killed with SIGKILL comes back with its APIs and no duplicate or
 * orphaned workers; bad input of every kind gets one clear message, a non-zero exit, and leaves
 * what is deployed alone.
 */
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { describe, expect, onTestFinished, test } from "vitest";
import {
  CLI,
  CONTROL_PLANE,
  copyExample,
  IRIS_REQUEST,
  isAlive,
  killQuietly,
  makeTestCluster,
  postJson,
  waitFor,
  spawnedProcessOf,
  workerPidsUnder,
} from "./helpers.js";

describe("durability", () => {
  test("kill -9 of the daemon: the API survives, is reconciled without duplicates or orphans, and serves", async () => {
    // Given a live iris API
    const c = await makeTestCluster();
    const project = copyExample("iris-sklearn");
    expect((await c.axon(["deploy", project, "--wait"])).code).toBe(0);
    const endpoint = `http://localhost:${c.gatewayPort}/iris-classifier`;
    const daemonPid = c.daemonPid() ?? -1;
    expect(daemonPid).toBeGreaterThan(0);
    const workersBefore = workerPidsUnder(c.home);
    expect(workersBefore).toHaveLength(1);

    // When the daemon is killed with SIGKILL
    process.kill(daemonPid, "SIGKILL");
    await waitFor("the daemon to die", () => (isAlive(daemonPid) ? undefined : true));
    // Then its workers do not linger as orphans
    await waitFor("orphaned workers to exit", () =>
      workersBefore.every((p) => !isAlive(p)) ? true : undefined,
    );

    // When its supervisor has brought the daemon back (the replica is starting again: the API keeps
    // its status `live` meanwhile) and the user runs `cluster up`, as after any crash
    await waitFor("the supervisor to restart the daemon", () => {
      const pid = c.daemonPid();
      return pid !== undefined && pid !== daemonPid && isAlive(pid) ? true : undefined;
    });
    const up = await c.axon(["cluster", "up"]);
    expect(up.code).toBe(0);

    // Then `cluster up` returned once the replica was back, as a fresh start does: the API serves
    // at once, is still live, with exactly one replica
    const prediction = await postJson(endpoint, IRIS_REQUEST);
    expect(prediction.status).toBe(200);
    expect(prediction.text).toBe("virginica");
    const get = await c.axon(["get", "iris-classifier", "-o", "json"]);
    expect(JSON.parse(get.stdout)).toMatchObject({ status: "live" });
    expect(workerPidsUnder(c.home)).toHaveLength(1);
  });
});

describe("restart", () => {
  test("after cluster down and up, the API is still live, and an unchanged deploy --wait returns once it answers again", async () => {
    // Given a live iris API and a stopped cluster
    const c = await makeTestCluster();
    const project = copyExample("iris-sklearn");
    expect((await c.axon(["deploy", project, "--wait"])).code).toBe(0);
    expect((await c.axon(["cluster", "down", "--yes"])).code).toBe(0);

    // When the cluster comes back (a clean restart), Then the API keeps its status: a completed
    // rollout is not "updating" again, while its replica starts
    expect((await c.axon(["cluster", "up"])).code).toBe(0);
    const back = JSON.parse((await c.axon(["get", "iris-classifier", "-o", "json"])).stdout) as {
      status: string;
    };
    expect(back.status).toBe("live");

    // When the same project is deployed again with --wait
    const again = await c.axon(["deploy", project, "--wait"]);

    // Then it reports the API unchanged, waits for its replica, and the endpoint answers at once
    expect(again.code).toBe(0);
    expect(again.stdout + again.stderr).toContain("iris-classifier (RealtimeAPI) is up to date");
    expect(again.stdout).toContain("iris-classifier is live at");
    const prediction = await postJson(
      `http://localhost:${c.gatewayPort}/iris-classifier`,
      IRIS_REQUEST,
    );
    expect(prediction).toMatchObject({ status: 200, text: "virginica" });
  });
});

describe("rolling updates", () => {
  test("a request in flight on an old replica finishes: the drain lasts the predictor timeout, not 10 s", async () => {
    // Given a live API whose predict takes 12 s when asked to (the default timeout is 60 s)
    const c = await makeTestCluster();
    const project = copyExample("iris-sklearn");
    writeFileSync(
      path.join(project, "predictor.py"),
      [
        "import os, time",
        "",
        "class PythonPredictor:",
        "    def __init__(self, config):",
        "        pass",
        "",
        "    def predict(self, payload):",
        "        time.sleep(payload['sleep'])",
        "        return {'version': os.environ.get('VERSION', '1')}",
        "",
      ].join("\n"),
    );
    expect((await c.axon(["deploy", project, "--wait"])).code).toBe(0);
    const endpoint = `http://localhost:${c.gatewayPort}/iris-classifier`;

    // When a slow request is in flight and a new version rolls out
    const slow = postJson(endpoint, { sleep: 12 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const config = path.join(project, "axon.yaml");
    writeFileSync(
      config,
      readFileSync(config, "utf8").replace(
        "path: predictor.py",
        "path: predictor.py\n    env:\n      VERSION: '2'",
      ),
    );
    expect((await c.axon(["deploy", project, "--wait"])).code).toBe(0);

    // Then the slow request gets its answer from the old version, and new ones reach the new
    expect(await slow).toEqual({ status: 200, text: '{"version": "1"}' });
    expect(await postJson(endpoint, { sleep: 0 })).toEqual({
      status: 200,
      text: '{"version": "2"}',
    });
  });
});

describe("self-healing", () => {
  test("a replica whose worker is killed is replaced and the API serves again", async () => {
    // Given a live iris API with one worker process
    const c = await makeTestCluster();
    expect((await c.axon(["deploy", copyExample("iris-sklearn"), "--wait"])).code).toBe(0);
    const endpoint = `http://localhost:${c.gatewayPort}/iris-classifier`;
    const [worker] = workerPidsUnder(c.home);
    expect(worker).toBeDefined();

    // When its worker dies
    process.kill(worker ?? -1, "SIGKILL");

    // Then a new replica (a new worker process) takes over and answers
    const replacement = await waitFor("a replacement worker", () => {
      const pids = workerPidsUnder(c.home).filter((pid) => pid !== worker);
      return pids.length === 1 ? pids[0] : undefined;
    });
    expect(replacement).not.toBe(worker);
    await waitFor("the api to answer again", async () => {
      const r = await postJson(endpoint, IRIS_REQUEST);
      return r.status === 200 && r.text === "virginica" ? true : undefined;
    });
    const logs = await c.axon(["logs", "iris-classifier"]);
    expect(logs.stdout).toMatch(/killed by SIGKILL/);
    // And the replacement is the PID the local provider recorded (so a crashed daemon can find it)
    const recorded = JSON.parse(
      readFileSync(path.join(c.home, "local-workers.json"), "utf8"),
    ) as Array<{ pid: number }>;
    expect(recorded.map((r) => r.pid)).toEqual([spawnedProcessOf(replacement ?? -1)]);

    // And when its worker keeps dying (three more times within the minute), the replica fails
    // and the log says why in the replica's own words
    let victim = replacement;
    for (let death = 2; death <= 4; death++) {
      const dying = victim;
      process.kill(dying ?? -1, "SIGKILL");
      victim = await waitFor(`a worker after death ${death}`, () => {
        const pids = workerPidsUnder(c.home).filter((pid) => pid !== dying);
        return pids.length === 1 ? pids[0] : undefined;
      });
    }
    const after = await c.axon(["logs", "iris-classifier"]);
    expect(after.stdout).toMatch(
      /replica r-\w+ failed: worker 0 of replica r-\w+ was killed by SIGKILL, the 4th worker death within a minute/,
    );
  });
});

describe("bad input", () => {
  test("each gets a clear error and nothing deployed is disturbed", async () => {
    // Given a live iris API
    const c = await makeTestCluster();
    const project = copyExample("iris-sklearn");
    expect((await c.axon(["deploy", project, "--wait"])).code).toBe(0);
    const endpoint = `http://localhost:${c.gatewayPort}/iris-classifier`;

    // An invalid config names the file, line and field
    const broken = copyExample("iris-sklearn");
    writeFileSync(
      path.join(broken, "axon.yaml"),
      "- name: iris-classifier\n  kind: RealtimeAPI\n  predictor:\n    type: python\n    path: predictor.py\n  autoscaling:\n    min_replicas: -1\n",
    );
    const invalid = await c.axon(["deploy", broken]);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/axon\.yaml:7/);
    expect(invalid.stderr).toContain("min_replicas");

    // A missing predictor file is named
    const missing = copyExample("iris-sklearn");
    writeFileSync(
      path.join(missing, "axon.yaml"),
      "- name: iris-classifier\n  kind: RealtimeAPI\n  predictor:\n    type: python\n    path: nope.py\n",
    );
    const noFile = await c.axon(["deploy", missing]);
    expect(noFile.code).toBe(1);
    expect(noFile.stderr).toContain("nope.py");

    // An unknown API name
    const unknown = await c.axon(["get", "no-such-api"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("no-such-api");
    expect((await c.axon(["delete", "no-such-api", "--yes"])).code).toBe(1);

    // A second daemon for the same home refuses to start (and `cluster up` just says it runs)
    const second = await c.axon(["cluster", "up"]);
    expect(second.code).toBe(0);
    expect(second.stdout + second.stderr).toMatch(/already running/);
    const direct = spawnSync(
      process.execPath,
      [CONTROL_PLANE, "--home", c.home, "--gateway-port", "0"],
      {
        encoding: "utf8",
        timeout: 20_000,
      },
    );
    expect(direct.status).toBe(1);
    expect(direct.stderr).toMatch(/a control plane is already running for .* \(pid \d+\)/);

    // The API deployed before still serves the same answer
    const prediction = await postJson(endpoint, IRIS_REQUEST);
    expect(prediction.text).toBe("virginica");
    const list = JSON.parse((await c.axon(["get", "-o", "json"])).stdout) as {
      apis: Array<{ name: string; status: string }>;
    };
    expect(list.apis).toEqual([
      expect.objectContaining({ name: "iris-classifier", status: "live" }),
    ]);

    // A daemon that is down: commands say so
    expect((await c.axon(["cluster", "down", "--yes"])).code).toBe(0);
    const down = await c.axon(["get"]);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain("not running");
  });

  test("a gateway port in use fails the start with a clear message", async () => {
    // Given something already listening on the gateway port
    const c = await makeTestCluster();
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(c.gatewayPort, "127.0.0.1", resolve));
    try {
      // When the cluster starts
      const up = await c.axon(["cluster", "up"]);
      // Then it says which port and what to do
      expect(up.code).toBe(1);
      expect(up.stderr).toContain(`port ${c.gatewayPort}`);
      expect(up.stderr).toMatch(/gateway-port|AXON_GATEWAY_PORT/);
    } finally {
      blocker.close();
    }
  });

  test("a predictor that cannot import shows status error and its traceback in the logs", async () => {
    const c = await makeTestCluster();
    const project = copyExample("iris-sklearn");
    writeFileSync(
      path.join(project, "predictor.py"),
      "import no_such_module_xyz\n\nclass PythonPredictor:\n    pass\n",
    );
    const deploy = await c.axon(["deploy", project, "--wait"]);
    expect(deploy.code).toBe(1);
    expect(deploy.stderr).toContain("no_such_module_xyz");
    // And callers get a 503 that says why, counted in the API's metrics
    const refused = await postJson(
      `http://localhost:${c.gatewayPort}/iris-classifier`,
      [1, 2, 3, 4],
    );
    expect(refused.status).toBe(503);
    expect(refused.text).toContain("no_such_module_xyz");
    const get = JSON.parse((await c.axon(["get", "iris-classifier", "-o", "json"])).stdout) as {
      status: string;
      metrics?: { requests: { "5XX": number } };
    };
    expect(get.status).toBe("error");
    expect(get.metrics?.requests["5XX"]).toBeGreaterThanOrEqual(1);
    const logs = await c.axon(["logs", "iris-classifier"]);
    expect(logs.stdout).toContain("Traceback");
    expect(logs.stdout).toContain("ModuleNotFoundError: No module named 'no_such_module_xyz'");
    // And each failed replica is reported once, not once per way its failure was noticed
    const failedLines = logs.stdout.match(/replica r-\w+ failed: .*/g) ?? [];
    expect(failedLines.length).toBeGreaterThan(0);
    expect(new Set(failedLines).size).toBe(failedLines.length);
  });
});

describe("lifecycle races", () => {
  test("`cluster down` ends an open `logs -f` at once, and the follower says the control plane stopped", async () => {
    // Given a live API and someone following its logs
    const c = await makeTestCluster();
    expect((await c.axon(["deploy", copyExample("iris-sklearn"), "--wait"])).code).toBe(0);
    const follower = spawn(process.execPath, [CLI, "logs", "iris-classifier", "-f"], {
      env: c.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    onTestFinished(() => killQuietly(follower.pid ?? -1));
    let followerStderr = "";
    follower.stderr.on("data", (chunk: Buffer) => (followerStderr += chunk.toString()));
    const followerExit = new Promise<number | null>((resolve) => follower.once("exit", resolve));
    await new Promise<void>((resolve) => follower.stdout.once("data", () => resolve()));

    // When the cluster is stopped
    const started = Date.now();
    const down = await c.axon(["cluster", "down", "--yes"]);

    // Then the stop is prompt and graceful, and the follower exits with a clear line
    expect(down.stderr).not.toContain("did not stop");
    expect(down.code).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await followerExit).toBe(1);
    expect(followerStderr).toContain("the control plane stopped");
    expect(followerStderr).not.toContain("bug in axon");
    const daemonLog = readFileSync(path.join(c.home, "daemon.log"), "utf8");
    expect(daemonLog).not.toContain("exiting anyway");
  });

  test("a request that never finishes does not hold up `cluster down`", async () => {
    // Given a running cluster and a client stuck halfway through uploading a bundle
    const c = await makeTestCluster();
    expect((await c.axon(["cluster", "up"])).code).toBe(0);
    const record = JSON.parse(readFileSync(path.join(c.home, "daemon.json"), "utf8")) as {
      apiUrl: string;
    };
    const token = readFileSync(path.join(c.home, "token"), "utf8").trim();
    const api = new URL(record.apiUrl);
    const stuck = net.connect(Number(api.port), api.hostname);
    onTestFinished(() => {
      stuck.destroy();
    });
    stuck.on("error", () => {});
    await new Promise<void>((resolve) => stuck.once("connect", resolve));
    stuck.write(
      `PUT /v1/bundles/${"0".repeat(64)} HTTP/1.1\r\nHost: ${api.host}\r\n` +
        `Authorization: Bearer ${token}\r\nContent-Type: application/gzip\r\n` +
        "Content-Length: 1000000\r\n\r\npartial",
    );
    await new Promise((resolve) => setTimeout(resolve, 300));

    // When the cluster is stopped
    const started = Date.now();
    const down = await c.axon(["cluster", "down", "--yes"]);

    // Then it stops gracefully well before the daemon's own 30 s deadline
    expect(down.code).toBe(0);
    expect(Date.now() - started).toBeLessThan(15_000);
    const daemonLog = readFileSync(path.join(c.home, "daemon.log"), "utf8");
    expect(daemonLog).not.toContain("exiting anyway");
  });

  test("two `cluster up` at once both succeed and share one control plane", async () => {
    // Given no cluster running
    const c = await makeTestCluster();

    // When three CLIs start it at the same moment
    const ups = await Promise.all([
      c.axon(["cluster", "up"]),
      c.axon(["cluster", "up"]),
      c.axon(["cluster", "up"]),
    ]);

    // Then every one succeeds and they all talk to the one daemon that won the lock
    for (const up of ups) expect(up).toMatchObject({ code: 0 });
    const pid = c.daemonPid() ?? -1;
    expect(isAlive(pid)).toBe(true);
    const info = JSON.parse((await c.axon(["cluster", "info", "-o", "json"])).stdout) as {
      pid: number;
    };
    expect(info.pid).toBe(pid);
  });

  test("two deploys at once with no cluster running both start it, share it and succeed", async () => {
    // Given two projects and no cluster
    const c = await makeTestCluster();
    const one = copyExample("iris-sklearn");
    const two = copyExample("iris-sklearn");
    const config = readFileSync(path.join(two, "axon.yaml"), "utf8");
    writeFileSync(
      path.join(two, "axon.yaml"),
      config.replace("name: iris-classifier", "name: iris-two"),
    );

    // When both are deployed at the same moment
    const [first, second] = await Promise.all([c.axon(["deploy", one]), c.axon(["deploy", two])]);

    // Then both succeed against the one daemon, and one of them says it used the other's: found
    // once started, or still starting under the other's supervisor (which of the two is timing)
    expect(first).toMatchObject({ code: 0 });
    expect(second).toMatchObject({ code: 0 });
    expect(first.stderr + second.stderr).toMatch(
      /another axon started the local cluster|the control plane's supervisor \(pid \d+\) is starting it; waiting for it/,
    );
    const list = JSON.parse((await c.axon(["get", "-o", "json"])).stdout) as {
      apis: Array<{ name: string }>;
    };
    expect(list.apis.map((a) => a.name).sort()).toEqual(["iris-classifier", "iris-two"]);
  });
});
