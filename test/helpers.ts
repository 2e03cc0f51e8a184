/**
 * Helpers for end-to-end tests: run the built `axon` CLI as a user would (a real process, a real
 * daemon in a temp $AXON_HOME, real Python replicas), and clean up every process by PID.
 */
import { execFile, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { onTestFinished } from "vitest";

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const CLI = path.join(REPO, "packages/cli/dist/main.js");
export const CONTROL_PLANE = path.join(REPO, "packages/control-plane/dist/main.js");
/** Interpreter for the iris example: needs scikit-learn (Debian's python3 on this machine). */
export const IRIS_PYTHON = process.env.AXON_TEST_IRIS_PYTHON ?? "/usr/bin/python3";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface TestCluster {
  home: string;
  gatewayPort: number;
  env: NodeJS.ProcessEnv;
  /** Runs the built CLI with this cluster's env (plus `options.env`, e.g. a user's AWS settings). */
  axon(
    args: string[],
    options?: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv },
  ): Promise<CliResult>;
  daemonPid(): number | undefined;
  cleanup(): void;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The iris example's sample request (the model answers `virginica`). */
export const IRIS_REQUEST = [5.9, 3.0, 5.1, 1.8];

/**
 * A fresh $AXON_HOME and gateway port for the running test; `cleanup` stops the daemon and every
 * worker it ran, and runs by itself when the test ends (passed or failed).
 */
export async function makeTestCluster(python = IRIS_PYTHON): Promise<TestCluster> {
  const home = mkdtempSync(path.join(os.tmpdir(), "axon-e2e-"));
  const gatewayPort = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AXON_HOME: home,
    AXON_GATEWAY_PORT: String(gatewayPort),
    AXON_PYTHON: python,
    FORCE_COLOR: "0",
  };
  const daemonPid = (): number | undefined => {
    try {
      return (JSON.parse(readFileSync(path.join(home, "daemon.json"), "utf8")) as { pid: number })
        .pid;
    } catch {
      return undefined;
    }
  };
  const cluster: TestCluster = {
    home,
    gatewayPort,
    env,
    daemonPid,
    axon: (args, options = {}) =>
      runAxon(args, { ...env, ...options.env }, options.cwd ?? REPO, options.timeoutMs ?? 60_000),
    cleanup: () => {
      const pid = daemonPid();
      // The supervisor first, or it would start the daemon again (cluster up runs one).
      const supervisor = readDaemonField(home, "supervisorPid");
      if (supervisor !== undefined) killQuietly(supervisor);
      for (const worker of workerPidsUnder(home)) killQuietly(worker);
      if (pid !== undefined) killQuietly(pid);
      rmSync(home, { recursive: true, force: true });
    },
  };
  onTestFinished(() => cluster.cleanup());
  return cluster;
}

/** A numeric field of the home's daemon.json, when the file and the field are there. */
export function readDaemonField(home: string, field: "pid" | "supervisorPid"): number | undefined {
  try {
    const value = (
      JSON.parse(readFileSync(path.join(home, "daemon.json"), "utf8")) as Record<string, unknown>
    )[field];
    return typeof value === "number" ? value : undefined;
  } catch {
    return undefined;
  }
}

export function runAxon(
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
  timeoutMs: number,
): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env, cwd, timeout: timeoutMs },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** PIDs of live Python workers whose command line mentions this home's runtime sockets or projects. */
export function workerPidsUnder(home: string): number[] {
  const out = spawnSync("pgrep", ["-f", "axon_runtime"], { encoding: "utf8" }).stdout;
  const pids: number[] = [];
  for (const line of out.split("\n")) {
    const pid = Number.parseInt(line, 10);
    if (!Number.isInteger(pid)) continue;
    let cmdline = "";
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    } catch {
      continue;
    }
    // A sandboxed worker's bubblewrap (and cgroup-joining sh) carry its command line too: count
    // the Python process only.
    const argv0 = path.basename(cmdline.split("\0")[0] ?? "");
    if (argv0 === "bwrap" || argv0 === "sh") continue;
    if (cmdline.includes(home)) pids.push(pid);
  }
  return pids;
}

/**
 * The process the local provider spawned for a worker: the worker itself, or the outermost
 * bubblewrap (or cgroup-joining sh) around it when it runs sandboxed.
 */
export function spawnedProcessOf(workerPid: number): number {
  let pid = workerPid;
  for (;;) {
    let parent: number;
    try {
      parent = Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
    } catch {
      return pid;
    }
    let argv0 = "";
    try {
      argv0 = path.basename(readFileSync(`/proc/${parent}/cmdline`, "utf8").split("\0")[0] ?? "");
    } catch {
      return pid;
    }
    if (argv0 !== "bwrap" && argv0 !== "sh") return pid;
    pid = parent;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/** Copies an example into a temp project folder the test may modify. */
export function copyExample(name: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `axon-project-`));
  cpSync(path.join(REPO, "examples", name), dir, { recursive: true });
  return dir;
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function postJson(
  url: string,
  body: unknown,
): Promise<{ status: number; text: string }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, text: await response.text() };
}
