/**
 * Decision 0007 against real processes: the daemon `axon cluster up` starts runs under a
 * supervisor, so a `kill -9` of it is followed by the endpoint answering again with no command
 * typed; `axon cluster down` still stops everything; a daemon.lock naming a PID that is not a
 * live control plane (reused by another program, or a zombie) does not block `cluster up`; and
 * one supervisor per home, always: a `cluster up` or `deploy` typed while the supervisor waits
 * out a restart delay waits for it instead of starting a second one (issue 27).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
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

/** Every live, non-zombie process whose command line names `home` (supervisors, daemons, workers). */
function processesOf(home: string): { pid: number; args: string }[] {
  const found: { pid: number; args: string }[] = [];
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) continue;
      const args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
      if (args.includes(home)) found.push({ pid, args });
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

function supervisorsOf(home: string): number[] {
  return processesOf(home)
    .filter((p) => / --supervise(?:-after)?\b/.test(p.args))
    .map((p) => p.pid);
}

/** A predictor that imports nothing, so a restart costs only Python's start. */
const QUICK_PREDICTOR = `class PythonPredictor:
    def __init__(self, config):
        pass

    def predict(self, payload):
        return "ok"
`;
const QUICK_CONFIG = `- name: quick
  kind: RealtimeAPI
  predictor:
    type: python
    path: predictor.py
`;

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

  test.each([{ command: "cluster up" }, { command: "deploy" }])(
    "axon $command inside the supervisor's restart delay waits for it; cluster down leaves nothing running",
    async ({ command }) => {
      // Given a live API under a supervisor waiting 8 s to restart its crashed daemon
      const { c, project, endpoint, supervisor } = await clusterInLongRestartDelay();

      // When the command is typed inside the delay
      const args = command === "deploy" ? ["deploy", project, "--wait"] : ["cluster", "up"];
      const typed = await c.axon(args, { timeoutMs: 60_000 });

      // Then it used the supervisor that was there: the endpoint answers, one supervisor runs
      expect(typed.code, typed.stderr).toBe(0);
      expect(supervisorsOf(c.home)).toEqual([supervisor]);
      expect(typed.stderr).toContain(`supervisor (pid ${supervisor}) is restarting it`);
      expect(readDaemonField(c.home, "supervisorPid")).toBe(supervisor);
      const back = await waitFor("the endpoint", async () => {
        const answer = await postJson(endpoint, {}).catch(() => undefined);
        return answer?.status === 200 ? answer : undefined;
      });
      expect(back.text).toContain("ok");

      // When the cluster is stopped as asked
      const down = await c.axon(["cluster", "down"]);
      expect(down.code, down.stderr).toBe(0);

      // Then nothing of this home runs, and nothing starts again in the next 30 s
      await expectNothingRunsFor30s(c.home, endpoint);
    },
    120_000,
  );

  test("cluster down inside the restart delay stops the waiting supervisor; nothing runs 30 s later", async () => {
    // Given a supervisor waiting 8 s to restart its crashed daemon (no daemon answers)
    const { c, endpoint, supervisor } = await clusterInLongRestartDelay();

    // When the cluster is stopped inside the delay
    const down = await c.axon(["cluster", "down"]);

    // Then the supervisor was stopped (it used to be left to start everything again)
    expect(down.code, down.stderr).toBe(0);
    expect(down.stdout).toBe("local cluster stopped\n");
    expect(down.stderr).toContain(`supervisor (pid ${supervisor})`);
    await expectNothingRunsFor30s(c.home, endpoint);
  }, 120_000);
});

/**
 * A live API under a supervisor whose daemon crashed four times in a row and then once more, so
 * it now waits 8 s before the next restart (0.5, 1, 2, 4, then 8 s: the "restarting in 8.0s" of
 * issue 27). Returns as soon as the last crash happened.
 */
async function clusterInLongRestartDelay(): Promise<{
  c: Awaited<ReturnType<typeof makeTestCluster>>;
  project: string;
  endpoint: string;
  supervisor: number;
}> {
  const c = await makeTestCluster("python3");
  onTestFinished(() => {
    for (const { pid } of processesOf(c.home)) killQuietly(pid);
  });
  const project = mkdtempSync(path.join(os.tmpdir(), "axon-project-"));
  writeFileSync(path.join(project, "predictor.py"), QUICK_PREDICTOR);
  writeFileSync(path.join(project, "axon.yaml"), QUICK_CONFIG);
  expect((await c.axon(["deploy", project, "--wait"])).code).toBe(0);
  const endpoint = `http://localhost:${c.gatewayPort}/quick`;
  const supervisor = readDaemonField(c.home, "supervisorPid") ?? -1;
  for (let crash = 1; crash <= 4; crash++) {
    const daemon = c.daemonPid() ?? -1;
    process.kill(daemon, "SIGKILL");
    await waitFor(
      `the daemon back after crash ${crash}`,
      async () => {
        const pid = c.daemonPid();
        if (pid === undefined || pid === daemon) return undefined;
        const answer = await postJson(endpoint, {}).catch(() => undefined);
        return answer?.status === 200 ? true : undefined;
      },
      60_000,
    );
  }
  process.kill(c.daemonPid() ?? -1, "SIGKILL");
  return { c, project, endpoint, supervisor };
}

/**
 * Waits (bounded) until no process names `home`, then looks every half second for 30 s that none
 * appears (a stray supervisor would have restarted within 16 s), and that the endpoint is closed.
 */
async function expectNothingRunsFor30s(home: string, endpoint: string): Promise<void> {
  await waitFor("every process of the home to exit", () =>
    processesOf(home).length === 0 ? true : undefined,
  );
  const watchUntil = Date.now() + 30_000;
  while (Date.now() < watchUntil) {
    expect(processesOf(home)).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  expect(await postJson(endpoint, {}).catch(() => "refused")).toBe("refused");
}
