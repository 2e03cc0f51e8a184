/**
 * Decision 0007 against real processes: the daemon `axon cluster up` starts runs under a
 * supervisor, so a `kill -9` of it is followed by the endpoint answering again with no command
 * typed; `axon cluster down` still stops everything; a daemon.lock naming a PID that is not a
 * live control plane (reused by another program, or a zombie) does not block `cluster up`.
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, onTestFinished, test } from "vitest";
import {
  copyExample,
  IRIS_REQUEST,
  isAlive,
  killQuietly,
  makeTestCluster,
  postJson,
  readDaemonField,
  waitFor,
  workerPidsUnder,
} from "./helpers.js";

describe("supervision", () => {
  test("after kill -9 of the daemon the endpoint answers again by itself; cluster down stops all", async () => {
    // Given a live iris API on a cluster started by `axon deploy`
    const c = await makeTestCluster();
    const project = copyExample("iris-sklearn");
    expect((await c.axon(["deploy", project, "--wait"])).code).toBe(0);
    const endpoint = `http://localhost:${c.gatewayPort}/iris-classifier`;
    const daemon = c.daemonPid() ?? -1;
    const supervisor = readDaemonField(c.home, "supervisorPid") ?? -1;
    expect(supervisor).toBeGreaterThan(0);
    expect(supervisor).not.toBe(daemon);

    // When the daemon is killed with SIGKILL and nothing is typed
    const killedAt = Date.now();
    process.kill(daemon, "SIGKILL");

    // Then a new daemon under the same supervisor serves the same answer again
    const back = await waitFor(
      "the endpoint to answer again",
      async () => {
        const answer = await postJson(endpoint, IRIS_REQUEST).catch(() => undefined);
        return answer?.status === 200 ? answer : undefined;
      },
      60_000,
    );
    const seconds = (Date.now() - killedAt) / 1000;
    process.stderr.write(`supervision: endpoint back ${seconds.toFixed(1)} s after kill -9\n`);
    expect(back.text).toBe("virginica");
    expect(isAlive(daemon)).toBe(false);
    expect(c.daemonPid()).not.toBe(daemon);
    expect(readDaemonField(c.home, "supervisorPid")).toBe(supervisor);
    await waitFor("one worker, not two", () =>
      workerPidsUnder(c.home).length === 1 ? true : undefined,
    );

    // When the cluster is stopped as asked
    const newDaemon = c.daemonPid() ?? -1;
    expect((await c.axon(["cluster", "down"])).code).toBe(0);

    // Then the supervisor does not start it again: both are gone, and so are the workers
    await waitFor("the supervisor to exit", () =>
      !isAlive(supervisor) && !isAlive(newDaemon) ? true : undefined,
    );
    expect(workerPidsUnder(c.home)).toEqual([]);
    expect(await postJson(endpoint, IRIS_REQUEST).catch(() => "refused")).toBe("refused");
  });

  test("after kill -9 of the supervisor another one takes over: a later kill -9 of the daemon is still recovered", async () => {
    // Given a live iris API under a supervisor
    const c = await makeTestCluster();
    const project = copyExample("iris-sklearn");
    expect((await c.axon(["deploy", project, "--wait"])).code).toBe(0);
    const endpoint = `http://localhost:${c.gatewayPort}/iris-classifier`;
    const daemon = c.daemonPid() ?? -1;
    const first = readDaemonField(c.home, "supervisorPid") ?? -1;
    expect(first).toBeGreaterThan(0);

    // When the supervisor is killed with SIGKILL
    process.kill(first, "SIGKILL");

    // Then the daemon serves on, and names another live supervisor in its record
    const second = await waitFor("another supervisor", () => {
      const pid = readDaemonField(c.home, "supervisorPid");
      return pid !== undefined && pid !== first && isAlive(pid) ? pid : undefined;
    });
    expect(c.daemonPid()).toBe(daemon);
    expect((await postJson(endpoint, IRIS_REQUEST)).text).toBe("virginica");

    // When the daemon is then killed with SIGKILL
    process.kill(daemon, "SIGKILL");

    // Then the endpoint answers again by itself, from a new daemon under the new supervisor
    const back = await waitFor(
      "the endpoint to answer again",
      async () => {
        const answer = await postJson(endpoint, IRIS_REQUEST).catch(() => undefined);
        return answer?.status === 200 ? answer : undefined;
      },
      60_000,
    );
    expect(back.text).toBe("virginica");
    const newDaemon = c.daemonPid() ?? -1;
    expect(newDaemon).not.toBe(daemon);
    expect(readDaemonField(c.home, "supervisorPid")).toBe(second);

    // When the cluster is stopped as asked, Then nothing is left running
    expect((await c.axon(["cluster", "down"])).code).toBe(0);
    await waitFor("the supervisor and the daemon to exit", () =>
      !isAlive(second) && !isAlive(newDaemon) ? true : undefined,
    );
    expect(workerPidsUnder(c.home)).toEqual([]);
  });

  test("a lock naming a reused PID or a zombie does not block cluster up", async () => {
    // Given a home whose daemon.lock names a live process that is not a control plane
    const c = await makeTestCluster();
    const stranger = spawn("sleep", ["60"], { stdio: "ignore" });
    onTestFinished(() => killQuietly(stranger.pid ?? -1));
    writeFileSync(path.join(c.home, "daemon.lock"), String(stranger.pid));

    // When the cluster is started, then it starts (no wait for a "running" daemon)
    const up = await c.axon(["cluster", "up"], { timeoutMs: 30_000 });
    expect(up.stderr).not.toContain("already running");
    expect(up.code).toBe(0);
    expect((await c.axon(["cluster", "down"])).code).toBe(0);

    // Given a lock naming a zombie: a child its parent never reaps
    const parent = spawn(
      "python3",
      [
        "-c",
        "import os, sys, time\npid = os.fork()\nif pid == 0: os._exit(0)\nprint(pid, flush=True)\ntime.sleep(60)",
      ],
      { stdio: ["ignore", "pipe", "ignore"] },
    );
    onTestFinished(() => killQuietly(parent.pid ?? -1));
    const zombie = await new Promise<number>((resolve) =>
      parent.stdout.once("data", (data: Buffer) => resolve(Number.parseInt(data.toString(), 10))),
    );
    expect(isAlive(zombie)).toBe(true); // signal 0 still reaches a zombie
    writeFileSync(path.join(c.home, "daemon.lock"), String(zombie));

    // When the cluster is started, then it starts too
    const again = await c.axon(["cluster", "up"], { timeoutMs: 30_000 });
    expect(again.stderr).not.toContain("already running");
    expect(again.code).toBe(0);
  });
});
