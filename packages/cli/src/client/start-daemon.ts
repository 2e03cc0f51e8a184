/**
 * Starting the local control plane in the background: spawn it detached with its output appended to
 * `$AXON_HOME/daemon.log`, then poll `daemon.json` + `/v1/health` until it answers. If the child
 * dies first, the error shows the end of its log, which is where the reason is — unless it died
 * because another CLI's daemon took the home's lock first: then that daemon is waited for and used.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, open, readFile, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { CliContext } from "../context.js";
import { sleep } from "../context.js";
import { UserError } from "../errors.js";
import { DAEMON_LOG_FILE, findDaemon, type DaemonConnection } from "./daemon.js";
import { probeSupervisor } from "./supervisor-probe.js";

/** What the daemon should be started with. */
export interface StartDaemonOptions {
  home: string;
  gatewayPort?: number;
  /** `--listen ADDRESS:PORT`: where the gateway listens (the daemon refuses it beyond loopback
   * while an API requires no keys, unless `insecureNoAuth`). */
  listen?: string;
  insecureNoAuth?: boolean;
  /** `--tls-cert/--tls-key` (absolute paths): the gateway serves HTTPS from these PEM files. */
  tlsCert?: string;
  tlsKey?: string;
  python?: string;
  /** How long to wait for the health probe to answer. */
  timeoutMs?: number;
  /**
   * Told each start-up phase as it happens (the spawn, then what the daemon reports in
   * `startup.json`), instead of the one "starting the local cluster..." line on stderr.
   */
  onPhase?: (phase: StartupPhase) => void;
}

/** One step of the daemon's start-up. */
export interface StartupPhase {
  at: Date;
  text: string;
}

/** The control plane's lock (its pid inside); named here because the CLI may not import it. */
const DAEMON_LOCK_FILE = "daemon.lock";
/** Where the daemon writes its start-up phases (control-plane daemon.ts, STARTUP_FILE). */
const STARTUP_FILE = "startup.json";
const POLL_MS = 100;
const LOG_TAIL_LINES = 20;

/** Path of the control plane's entry script: `AXON_CONTROL_PLANE_BIN`, else the installed package. */
export function resolveControlPlaneEntry(env: CliContext["env"]): string {
  const override = env["AXON_CONTROL_PLANE_BIN"];
  if (override !== undefined && override !== "") return override;
  try {
    return fileURLToPath(import.meta.resolve("@axon/control-plane/main"));
  } catch {
    // Some loaders (test runners) do not implement import.meta.resolve; require resolution reads the
    // same `exports` entry.
    return createRequire(import.meta.url).resolve("@axon/control-plane/main");
  }
}

/** Spawns the daemon and resolves once it answers its health probe. */
export async function startDaemon(
  ctx: CliContext,
  options: StartDaemonOptions,
): Promise<DaemonConnection> {
  const { home } = options;
  const entry = resolveControlPlaneEntry(ctx.env);
  if (!existsSync(entry)) {
    throw new UserError(
      `the control plane is not installed where expected: ${entry} does not exist`,
      {
        hint: "build it with `npm run build`, or point AXON_CONTROL_PLANE_BIN at its main.js",
      },
    );
  }
  await mkdir(home, { recursive: true, mode: 0o700 });
  // Private whoever made it; the daemon does the same for everything it writes.
  await chmod(home, 0o700);
  const logFile = path.join(home, DAEMON_LOG_FILE);
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  // A supervisor already there (restarting a daemon that crashed, or starting one for another
  // CLI) brings the daemon up itself: wait for that one. A second supervisor would exit at once
  // anyway (decision 0007), but waiting here keeps the user's output about the daemon that serves.
  const restarted = await waitForLiveSupervisor(ctx, home, deadline, options.onPhase);
  if (restarted !== undefined) return restarted;
  // Under a supervisor that starts it again after a crash (decision 0007); `cluster down` still
  // stops both (the daemon tells its supervisor a stop was asked for).
  const args = [entry, "--supervise", "--home", home];
  if (options.gatewayPort !== undefined) args.push("--gateway-port", String(options.gatewayPort));
  if (options.listen !== undefined) args.push("--listen", options.listen);
  if (options.insecureNoAuth === true) args.push("--insecure-no-auth");
  if (options.tlsCert !== undefined) args.push("--tls-cert", options.tlsCert);
  if (options.tlsKey !== undefined) args.push("--tls-key", options.tlsKey);
  if (options.python !== undefined) args.push("--python", options.python);

  const { onPhase } = options;
  if (onPhase === undefined) ctx.stderr.write("starting the local cluster...\n");
  // Only this start's output belongs in an error message; the log keeps earlier runs too.
  const logOffset = await stat(logFile).then(
    (s) => s.size,
    () => 0,
  );
  const log = await open(logFile, "a", 0o600);
  await log.chmod(0o600); // a daemon.log an older axon made 0644
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  let childPid: number | undefined;
  try {
    const child = spawn(process.execPath, args, {
      cwd: home,
      detached: true,
      stdio: ["ignore", log.fd, log.fd],
      env: ctx.env as NodeJS.ProcessEnv,
    });
    child.once("exit", (code, signal) => {
      exit = { code, signal };
    });
    child.once("error", (error) => {
      spawnError = error;
    });
    childPid = child.pid;
    child.unref();
  } finally {
    await log.close();
  }
  onPhase?.({ at: ctx.now(), text: `starting the control plane (pid ${childPid ?? "?"})` });
  let phasesSeen = 0;
  const reportPhases = async (): Promise<void> => {
    if (onPhase === undefined || childPid === undefined) return;
    const phases = await readStartupPhases(home, childPid);
    for (const phase of phases.slice(phasesSeen)) onPhase(phase);
    phasesSeen = Math.max(phasesSeen, phases.length);
  };

  for (;;) {
    if (spawnError !== undefined) {
      throw new UserError(`cannot start the control plane (${spawnError.message})`, {
        cause: spawnError,
      });
    }
    const connection = await findDaemon(home, ctx.signal);
    await reportPhases();
    if (connection !== undefined) {
      if ((connection.record.supervisorPid ?? connection.record.pid) !== childPid) {
        const text = `another axon started the local cluster at the same time (pid ${connection.record.pid}); using it`;
        if (onPhase === undefined) ctx.stderr.write(`${text}\n`);
        else onPhase({ at: ctx.now(), text });
      }
      return connection;
    }
    // Our child lost the race for the lock to a daemon another CLI started, or found another
    // supervisor for the home and left it the work: keep polling for that one until the deadline.
    const rival =
      exit === undefined
        ? undefined
        : ((await liveLockHolder(home, childPid)) ?? (await probeSupervisor(home, "start"))?.pid);
    if (exit !== undefined && rival === undefined) {
      const how = exit.code === null ? `signal ${exit.signal ?? "?"}` : `exit code ${exit.code}`;
      throw new UserError(`the local cluster failed to start (${how})`, {
        details: await readLogTail(logFile, logOffset),
        hint: `the full log is in ${logFile}`,
      });
    }
    if (Date.now() >= deadline) {
      const who = rival === undefined ? "the local cluster" : `the control plane (pid ${rival})`;
      throw new UserError(
        `${who} did not start within ${Math.round((options.timeoutMs ?? 15_000) / 1000)}s`,
        {
          details: await readLogTail(logFile, logOffset),
          hint: `see ${logFile}; stop a stuck daemon with \`axon cluster down\``,
        },
      );
    }
    await sleep(POLL_MS, ctx.signal);
  }
}

/**
 * When a live supervisor holds `home`, waits for the daemon it is (re)starting and returns it;
 * undefined at once when there is none, or once it has gone without a daemon answering (then the
 * caller starts one). Throws at the deadline.
 */
async function waitForLiveSupervisor(
  ctx: CliContext,
  home: string,
  deadline: number,
  onPhase: StartDaemonOptions["onPhase"],
): Promise<DaemonConnection | undefined> {
  // `start`: a supervisor in its restart backoff (up to 30 s) starts the daemon now.
  let supervisor = await probeSupervisor(home, "start");
  if (supervisor === undefined) return undefined;
  const text = `the control plane's supervisor (pid ${supervisor.pid}) is ${supervisor.state === "restarting" ? "restarting" : "starting"} it; waiting for it`;
  if (onPhase === undefined) ctx.stderr.write(`${text}\n`);
  else onPhase({ at: ctx.now(), text });
  for (;;) {
    const connection = await findDaemon(home, ctx.signal);
    if (connection !== undefined) return connection;
    supervisor = await probeSupervisor(home, "start");
    if (supervisor === undefined) return findDaemon(home, ctx.signal);
    if (Date.now() >= deadline) {
      throw new UserError(
        `the control plane's supervisor (pid ${supervisor.pid}) did not bring it up in time`,
        {
          hint: `see ${path.join(home, DAEMON_LOG_FILE)}; \`axon cluster down\` stops it`,
        },
      );
    }
    await sleep(POLL_MS, ctx.signal);
  }
}

/**
 * The phases the daemon started by `ours` (the supervisor, or the daemon itself) has reported so
 * far; none while it has not written any, or when the file is an earlier start's.
 */
async function readStartupPhases(home: string, ours: number): Promise<StartupPhase[]> {
  try {
    const progress = JSON.parse(await readFile(path.join(home, STARTUP_FILE), "utf8")) as {
      pid?: unknown;
      supervisorPid?: unknown;
      phases?: unknown;
    };
    if (progress.pid !== ours && progress.supervisorPid !== ours) return [];
    if (!Array.isArray(progress.phases)) return [];
    return (progress.phases as { at?: unknown; text?: unknown }[]).flatMap((phase) =>
      typeof phase.at === "string" && typeof phase.text === "string"
        ? [{ at: new Date(phase.at), text: phase.text }]
        : [],
    );
  } catch {
    // Not written yet, or caught mid-rename: the next poll reads it.
    return [];
  }
}

/** The pid in the home's daemon lock when that process is alive and is not `ours`. */
async function liveLockHolder(home: string, ours: number | undefined): Promise<number | undefined> {
  let pid: number;
  try {
    pid = Number.parseInt(await readFile(path.join(home, DAEMON_LOCK_FILE), "utf8"), 10);
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0 || pid === ours) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM" ? pid : undefined;
  }
}

async function readLogTail(file: string, fromByte: number): Promise<string> {
  try {
    const text = (await readFile(file)).subarray(fromByte).toString("utf8");
    const lines = text.trimEnd().split("\n");
    return lines.slice(-LOG_TAIL_LINES).join("\n");
  } catch {
    return "";
  }
}

/** The live daemon for `options.home`, starting one first when none is running. */
export async function connectOrStartDaemon(
  ctx: CliContext,
  options: StartDaemonOptions,
): Promise<{ connection: DaemonConnection; started: boolean }> {
  const running = await findDaemon(options.home, ctx.signal);
  if (running !== undefined) return { connection: running, started: false };
  return { connection: await startDaemon(ctx, options), started: true };
}
