/** Stopping the local cluster: ask the daemon to shut down, then wait until its process is gone. */
import type { DaemonConnection } from "../client/daemon.js";
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
