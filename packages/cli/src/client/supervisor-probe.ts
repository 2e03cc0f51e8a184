/**
 * Asking a home's supervisor what it is doing, through its supervision socket (decision 0007: one
 * supervisor per home, always). The control plane's `supervisor.ts` listens; the CLI may not
 * import it, so the address and the one-line protocol are repeated here: connect, send `status`
 * or `start` (end a restart delay now), read one JSON line back.
 */
import { createHash } from "node:crypto";
import { realpath } from "node:fs/promises";
import net from "node:net";
import path from "node:path";

/** What a live supervisor says about itself. */
export interface SupervisorStatus {
  pid: number;
  state: "starting" | "running" | "restarting" | "watching" | "stopping";
  daemonPid?: number;
  restartInMs?: number;
}

const PROBE_TIMEOUT_MS = 2_000;

/** The supervision socket of `home`: as `supervisionSocketPath` in the control plane's supervisor.ts. */
export async function supervisionSocketPath(home: string): Promise<string> {
  const resolved = await realpath(home).catch(() => path.resolve(home));
  if (process.platform === "linux") {
    const digest = createHash("sha256").update(resolved).digest("hex").slice(0, 40);
    return `\0axon-supervisor-${digest}`;
  }
  return path.join(resolved, "supervisor.sock");
}

/**
 * The status of the supervisor of `home`, or undefined when none listens (no supervisor, or it
 * died: the socket goes with it). `start` also asks it to end a restart delay now.
 */
export async function probeSupervisor(
  home: string,
  request: "status" | "start" = "status",
): Promise<SupervisorStatus | undefined> {
  const address = await supervisionSocketPath(home);
  return new Promise((resolve) => {
    const socket = net.connect(address);
    let text = "";
    const done = (value: SupervisorStatus | undefined): void => {
      socket.destroy();
      resolve(value);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => done(undefined));
    socket.once("error", () => done(undefined));
    socket.on("connect", () => socket.end(`${request}\n`));
    socket.on("data", (data: Buffer) => (text += data.toString("utf8")));
    socket.on("end", () => {
      try {
        const status = JSON.parse(text) as Partial<SupervisorStatus>;
        done(typeof status.pid === "number" ? (status as SupervisorStatus) : undefined);
      } catch {
        done(undefined);
      }
    });
  });
}
