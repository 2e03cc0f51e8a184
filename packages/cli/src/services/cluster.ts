/**
 * Stopping the local cluster: ask the daemon to shut down, then wait until its process is gone;
 * then stop every supervisor of the home that is still there (decision 0007), so none can start
 * the daemon again behind the user's back.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { DaemonConnection } from "../client/daemon.js";
import { probeSupervisor } from "../client/supervisor-probe.js";
import { sleep } from "../context.js";
import { UserError } from "../errors.js";

/** How long `cluster down` waits for the daemon to stop its replicas and exit. */
export const STOP_TIMEOUT_MS = 30_000;

/** Sends `POST /v1/shutdown` and resolves once the daemon's pid no longer exists. */
export async function stopCluster(
  connection: DaemonConnection,
  signal: AbortSignal,
  timeoutMs = STOP_TIMEOUT_MS,
): Promise<void> {
  const { pid, supervisorPid } = connection.record;
  await connection.client.shutdown();
  const deadline = Date.now() + timeoutMs;
  // The supervisor exits right after its daemon (it was told the stop was asked for).
  while (isProcessAlive(pid) || (supervisorPid !== undefined && isProcessAlive(supervisorPid))) {
    if (Date.now() >= deadline) {
      throw new UserError(
        `the control plane (pid ${pid}) did not stop within ${Math.round(timeoutMs / 1000)}s`,
        {
          hint: `see ${connection.home}/daemon.log; stop it by hand with \`kill ${pid}\``,
        },
      );
    }
    await sleep(100, signal);
  }
  await stopSupervisors(connection.home, signal, Math.max(deadline - Date.now(), 5_000));
}

/**
 * Stops every supervisor of `home` and resolves with their pids once they have exited: the one
 * its supervision socket names (it may be waiting out a restart delay after a crash, with no
 * daemon to ask), and any other `--supervise`/`--supervise-after` process whose command line
 * names this home (one started by an older axon, which held no socket). SIGTERM is a stop to a
 * supervisor: it ends its delay and exits without starting anything.
 */
export async function stopSupervisors(
  home: string,
  signal: AbortSignal,
  timeoutMs = STOP_TIMEOUT_MS,
): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  const stopped = new Set<number>();
  for (;;) {
    const found = new Set(await supervisorPidsOnProc(home));
    const holder = await probeSupervisor(home);
    if (holder !== undefined) found.add(holder.pid);
    const live = [...found].filter(isProcessAlive);
    if (live.length === 0) return [...stopped];
    if (Date.now() >= deadline) {
      throw new UserError(
        `the local cluster's supervisor (pid ${live.join(", ")}) did not stop within ${Math.round(timeoutMs / 1000)}s`,
        { hint: `stop it by hand with \`kill ${live.join(" ")}\`` },
      );
    }
    for (const pid of live) {
      if (stopped.has(pid)) continue;
      stopped.add(pid);
      try {
        process.kill(pid, "SIGTERM");
      } catch {
        // gone meanwhile
      }
    }
    await sleep(100, signal);
  }
}

/**
 * Pids of supervisor processes whose command line names `home` (`--home DIR`, as the CLI and
 * the daemon start them); none without /proc.
 */
async function supervisorPidsOnProc(home: string): Promise<number[]> {
  let entries: string[];
  try {
    entries = await readdir("/proc");
  } catch {
    return [];
  }
  const wanted = path.resolve(home);
  const pids: number[] = [];
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    let args: string[];
    try {
      args = (await readFile(`/proc/${pid}/cmdline`, "utf8")).split("\0");
    } catch {
      continue; // exited meanwhile, or not ours to read
    }
    if (!args.includes("--supervise") && !args.includes("--supervise-after")) continue;
    const at = args.indexOf("--home");
    const named = at >= 0 ? args[at + 1] : undefined;
    if (named === undefined || path.resolve(named) !== wanted) continue;
    if (!args.some((arg) => /control-plane[\\/]dist[\\/]main\.js$|axon-control-plane$/.test(arg))) {
      continue;
    }
    pids.push(pid);
  }
  return pids;
}

/** True while a process with this id exists (signal 0 checks without signalling). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
