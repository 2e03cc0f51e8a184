import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { afterEach, describe, expect, onTestFinished, test } from "vitest";
import {
  claimSupervision,
  probeSupervision,
  Supervisor,
  supervisionSocketPath,
} from "./supervisor.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/**
 * A stand-in daemon: each start appends a line to `starts` in the home, then behaves as the
 * start's number says in `plan` (one word per start): `crash` (says running, exits 1),
 * `kill` (says running, SIGKILLs itself), `fail` (exits 3 without running), `taken` (says
 * another control plane holds the home, exits 1 without running), `stop` (says
 * running then stopping, exits 1 as a stop past its deadline does), `wait` (runs until a
 * SIGTERM or SIGINT, recording each in `signals`, then stops as the daemon does).
 */
function fakeDaemon(plan: string[]): { home: string; args: string[]; starts: () => number } {
  const home = mkdtempSync(path.join(os.tmpdir(), "axon-supervisor-"));
  dirs.push(home);
  writeFileSync(path.join(home, "plan"), plan.join("\n"));
  const script = `
    const fs = require("node:fs"), path = require("node:path");
    const home = ${JSON.stringify(home)};
    fs.appendFileSync(path.join(home, "starts"), "x");
    const n = fs.readFileSync(path.join(home, "starts"), "utf8").length;
    const step = fs.readFileSync(path.join(home, "plan"), "utf8").split("\\n")[n - 1] ?? "stop";
    if (step === "fail") process.exit(3);
    if (step === "taken") process.send("home-taken", () => process.exit(1));
    else process.send("running");
    if (step === "crash") setTimeout(() => process.exit(1), 10);
    if (step === "kill") setTimeout(() => process.kill(process.pid, "SIGKILL"), 10);
    if (step === "stop") { process.send("stopping"); setTimeout(() => process.exit(1), 10); }
    if (step === "wait") {
      fs.writeFileSync(path.join(home, "pid"), String(process.pid));
      const onSignal = (signal) => {
        fs.appendFileSync(path.join(home, "signals"), signal + "\\n");
        process.send("stopping");
        setTimeout(() => process.exit(0), 100);
      };
      process.on("SIGTERM", onSignal);
      process.on("SIGINT", onSignal);
      setInterval(() => {}, 1000);
    }
  `;
  return {
    home,
    args: ["-e", script],
    starts: () => readFileSync(path.join(home, "starts"), "utf8").length,
  };
}

function supervisorFor(fake: ReturnType<typeof fakeDaemon>, lines: string[]): Supervisor {
  return new Supervisor({
    daemonArgs: fake.args,
    home: fake.home,
    log: (line) => lines.push(line),
    firstDelayMs: 10,
    maxDelayMs: 40,
    maxQuickCrashes: 3,
  });
}

describe("Supervisor", () => {
  test("starts a crashed or killed daemon again, and not one that stopped as asked", async () => {
    // Given a daemon that crashes, is then killed with SIGKILL, then stops as asked (exit 1)
    const fake = fakeDaemon(["crash", "kill", "stop"]);
    const lines: string[] = [];

    // When supervised
    const code = await supervisorFor(fake, lines).run();

    // Then it ran three times, said why it restarted, and passed the stop's exit code on
    expect(fake.starts()).toBe(3);
    expect(code).toBe(1);
    expect(lines).toEqual([
      expect.stringMatching(
        /^supervisor: the control plane exited \(exit code 1\) after .*; restarting in 0\.0s$/,
      ),
      expect.stringMatching(/\(signal SIGKILL\)/),
    ]);
  });

  test("exits with the daemon's code when its first start fails, without retrying", async () => {
    const fake = fakeDaemon(["fail"]);
    expect(await supervisorFor(fake, []).run()).toBe(3);
    expect(fake.starts()).toBe(1);
  });

  test("a stop passes the signal on once, and not to a daemon already stopping", async () => {
    // Given a supervised daemon that runs until signalled
    const fake = fakeDaemon(["wait", "wait"]);
    const supervisor = supervisorFor(fake, []);
    const running = supervisor.run();
    const pidFile = path.join(fake.home, "pid");
    const signals = (): string => readFileSync(path.join(fake.home, "signals"), "utf8");
    while (!existsSync(pidFile)) await new Promise((resolve) => setTimeout(resolve, 20));

    // When the supervisor is stopped (`kill <supervisor>`)
    supervisor.stop("SIGTERM");

    // Then the daemon gets the signal once and is not started again
    expect(await running).toBe(0);
    expect(signals()).toBe("SIGTERM\n");
    expect(fake.starts()).toBe(1);

    // Given another run, when a Ctrl-C reaches both (the daemon first, as a terminal does)
    rmSync(pidFile);
    rmSync(path.join(fake.home, "signals"));
    const again = supervisorFor(fake, []);
    const second = again.run();
    while (!existsSync(pidFile)) await new Promise((resolve) => setTimeout(resolve, 20));
    process.kill(Number(readFileSync(pidFile, "utf8")), "SIGINT");
    again.stop("SIGINT");

    // Then the daemon's graceful stop is not cut short by a second signal
    expect(await second).toBe(0);
    expect(signals()).toBe("SIGINT\n");
  });

  test("gives up after crashes in a row that never stay up", async () => {
    // Given a daemon that crashes every time
    const fake = fakeDaemon(["crash", "crash", "crash", "crash", "crash", "crash"]);
    const lines: string[] = [];

    // When supervised, then it stops after the allowed crashes and says what to do
    expect(await supervisorFor(fake, lines).run()).toBe(1);
    expect(fake.starts()).toBe(4);
    expect(lines.at(-1)).toBe(
      "supervisor: giving up after 3 crashes in a row; run `axon cluster up`",
    );
  });

  test("does not start a daemon again into a home that is gone", async () => {
    const fake = fakeDaemon(["crash", "crash"]);
    const lines: string[] = [];
    const supervisor = new Supervisor({
      daemonArgs: fake.args,
      home: fake.home,
      log: (line) => {
        lines.push(line);
        rmSync(fake.home, { recursive: true, force: true }); // removed while it waits
      },
      firstDelayMs: 10,
    });
    expect(await supervisor.run()).toBe(1);
    expect(lines.at(-1)).toBe(`supervisor: ${fake.home} is gone; not restarting`);
  });

  test("a restart that finds another control plane serving the home ends the supervision", async () => {
    // Given a daemon that crashes, then cannot start because another one holds the home
    const fake = fakeDaemon(["crash", "taken"]);
    const lines: string[] = [];

    // When supervised, then it does not try again (it would win the home back after a stop)
    expect(await supervisorFor(fake, lines).run()).toBe(1);
    expect(fake.starts()).toBe(2);
    expect(lines.at(-1)).toBe(
      `supervisor: another control plane serves ${fake.home}; this supervisor exits`,
    );
  });

  test("startNow ends a restart delay, and status says what it is doing", async () => {
    // Given a supervisor waiting a minute before restarting a crashed daemon
    const fake = fakeDaemon(["crash", "wait"]);
    const supervisor = new Supervisor({
      daemonArgs: fake.args,
      home: fake.home,
      log: () => {},
      firstDelayMs: 60_000,
    });
    const run = supervisor.run();
    await until(() => supervisor.status().state === "restarting");
    expect(supervisor.status().restartInMs).toBeGreaterThan(1_000);

    // When asked to start now
    supervisor.startNow();

    // Then the daemon runs again without the minute, and stops when asked
    await until(() => existsSync(path.join(fake.home, "pid")));
    expect(fake.starts()).toBe(2);
    supervisor.stop();
    expect(await run).toBe(0);
  });
});

describe("claimSupervision", () => {
  test("one holder per home: a second claim is told who holds it, and the dead free it", async () => {
    // Given a home supervised by this process
    const home = mkdtempSync(path.join(os.tmpdir(), "axon-supervision-"));
    dirs.push(home);
    const status = { pid: process.pid, state: "running" as const };
    let started = 0;
    const first = await claimSupervision(home, { status: () => status, startNow: () => started++ });
    if (!("release" in first)) throw new Error("the first claim was refused");

    // When another claims it, Then it is refused and told the holder's status
    const second = await claimSupervision(home, { status: () => status, startNow: () => {} });
    expect(second).toEqual({ holder: status });
    // And a `start` through the socket reaches the holder
    expect(await probeSupervision(supervisionSocketPath(home), "start")).toEqual(status);
    expect(started).toBe(1);

    // When the holder releases it, Then it can be claimed again
    first.release();
    const third = await claimSupervision(home, { status: () => status, startNow: () => {} });
    if (!("release" in third)) throw new Error("the claim after release was refused");
    third.release();

    // Given a holder in another process that is then killed with SIGKILL (no clean-up at all)
    const holder = spawn(
      process.execPath,
      [
        "-e",
        `require("node:net")
          .createServer({ allowHalfOpen: true }, (socket) => {
            socket.resume();
            socket.on("end", () => socket.end(JSON.stringify({ pid: process.pid, state: "restarting" }) + "\\n"));
          })
          .listen(${JSON.stringify(supervisionSocketPath(home))}, () => console.log("up"))`,
      ],
      { stdio: ["ignore", "pipe", "ignore"] },
    );
    onTestFinished(() => {
      holder.kill("SIGKILL");
    });
    await new Promise((resolve) => holder.stdout.once("data", resolve));
    const refused = await claimSupervision(home, { status: () => status, startNow: () => {} });
    expect(refused).toEqual({ holder: { pid: holder.pid, state: "restarting" } });
    holder.kill("SIGKILL");
    await new Promise((resolve) => holder.once("exit", resolve));

    // Then the home is free at once
    const after = await claimSupervision(home, { status: () => status, startNow: () => {} });
    expect("release" in after).toBe(true);
    if ("release" in after) after.release();
  });
});

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  expect(condition()).toBe(true);
}
