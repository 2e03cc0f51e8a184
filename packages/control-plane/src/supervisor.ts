/**
 * The supervisor: a small process that runs the daemon as its child and starts it again when it
 * dies without having been asked to stop (decision 0007). It holds no state, opens no port and
 * loads nothing of the control plane, so there is little in it that can crash; the daemon it
 * restarts converges from the store as after any crash, and the endpoints answer again once the
 * replicas are back.
 *
 * The daemon reports over the IPC channel: `running` once it serves, `stopping` once a stop was
 * asked for (`axon cluster down`, SIGTERM). So:
 * - a daemon that exits after `stopping`, or with code 0, is not restarted, whatever its exit code
 *   (a stop that overran its deadline exits 1 and must still stay down), and the supervisor
 *   exits with it;
 * - a daemon that exits before `running` failed to start (a port in use, another daemon holding
 *   the home): the supervisor exits with its code at once, so whoever started it sees the error;
 * - any other exit is a crash: restarted after a backoff (0.5 s, doubling to 30 s, reset after a
 *   minute of uptime), and given up after 10 crashes in a row that never reached a minute;
 * - SIGTERM/SIGINT to the supervisor are passed on to the daemon (a stop, not a crash);
 * - a home that no longer exists is not restarted into.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, realpathSync, rmSync } from "node:fs";
import net from "node:net";
import path from "node:path";

/** Exit code of a supervisor that found another live supervisor for its home (it exits at once). */
export const SUPERVISED_ELSEWHERE_EXIT = 4;

/**
 * Messages the daemon sends its supervisor: `running` once it serves, `stopping` once a stop was
 * asked for, `home-taken` when it cannot start because another live control plane holds the
 * home's lock (sent before it exits 1).
 */
export type SupervisedMessage = "running" | "stopping" | "home-taken";

/**
 * The daemon's error when another live control plane holds the home's lock: it sends `home-taken`
 * for it. Kept here, not in daemon.ts, so the supervisor's entry point reads it without loading the
 * daemon.
 */
export const DAEMON_ALREADY_RUNNING = "daemon.already_running";

/** How long a stop waits for the daemon to report `stopping` by itself before signalling it. */
const FORWARD_DELAY_MS = 300;

/** Env var telling the daemon which supervisor runs it (written to daemon.json). */
export const SUPERVISOR_PID_ENV = "AXON_SUPERVISOR_PID";

export interface SupervisorOptions {
  /** The daemon's command: `process.execPath` and these arguments. */
  daemonArgs: string[];
  home: string;
  /** One line for the daemon log. */
  log: (line: string) => void;
  /** Restart delays (tests shorten them). */
  firstDelayMs?: number;
  maxDelayMs?: number;
  /** Uptime after which a crash no longer counts towards giving up, and the delay resets. */
  stableAfterMs?: number;
  maxQuickCrashes?: number;
}

export class Supervisor {
  readonly #options: Required<SupervisorOptions>;
  #child: ChildProcess | undefined;
  /** The running daemon said it is stopping. */
  #childStopping = false;
  #stopRequested = false;
  #wake: (() => void) | undefined;
  /** What `status()` reports to a CLI asking through the supervision socket. */
  #state: SupervisorState = "starting";
  #restartAt: number | undefined;

  constructor(options: SupervisorOptions) {
    this.#options = {
      firstDelayMs: 500,
      maxDelayMs: 30_000,
      stableAfterMs: 60_000,
      maxQuickCrashes: 10,
      ...options,
    };
  }

  /**
   * Passes a stop on to the daemon; `run` resolves once it has exited, without a restart. A Ctrl-C
   * in a terminal reaches the daemon too (same process group), and a second signal would cut its
   * graceful stop short: the signal is passed on only if the daemon has not said `stopping` within
   * FORWARD_DELAY_MS.
   */
  stop(signal: NodeJS.Signals = "SIGTERM"): void {
    this.#stopRequested = true;
    this.#wake?.();
    const child = this.#child;
    if (child === undefined) return;
    setTimeout(() => {
      if (!this.#childStopping && this.#child === child) child.kill(signal);
    }, FORWARD_DELAY_MS).unref();
  }

  /** Where this supervisor is, for a CLI deciding whether to wait for it (decision 0007). */
  status(): SupervisorStatus {
    return {
      pid: process.pid,
      state: this.#stopRequested ? "stopping" : this.#state,
      ...(this.#child?.pid === undefined ? {} : { daemonPid: this.#child.pid }),
      ...(this.#restartAt === undefined
        ? {}
        : { restartInMs: Math.max(0, this.#restartAt - Date.now()) }),
    };
  }

  /**
   * Ends a restart delay now: a `cluster up` or `deploy` waiting for this supervisor should not
   * wait up to 30 s of backoff for a daemon it asked for.
   */
  startNow(): void {
    if (!this.#stopRequested) this.#wake?.();
  }

  /** Runs the daemon until it stops as asked or cannot start; resolves with the exit code to use. */
  async run(): Promise<number> {
    const { log, home, firstDelayMs, maxDelayMs, stableAfterMs, maxQuickCrashes } = this.#options;
    let delay = firstDelayMs;
    let quickCrashes = 0;
    for (let start = 1; ; start++) {
      const startedAt = Date.now();
      this.#state = "starting";
      const run = await this.#runOnce();
      // Exit code 0 is a stop too: main returns 0 only after one, and a message sent just
      // before exiting may not have crossed the channel.
      if (this.#stopRequested || run.stopping || run.code === 0) return run.code ?? 0;
      if (!run.running) {
        if (start === 1) return run.code ?? 1;
        // Another control plane serves the home (started in the foreground, or by a supervisor
        // of an older axon): restarting would only fail again, and would win the home back the
        // moment that one is stopped as asked — the stray-supervisor bug of issue 27.
        if (run.homeTaken) {
          log(`supervisor: another control plane serves ${home}; this supervisor exits`);
          return run.code ?? 1;
        }
        log(`supervisor: the control plane failed to start again (${describeExit(run)})`);
      }
      const uptime = Date.now() - startedAt;
      if (uptime >= stableAfterMs) {
        delay = firstDelayMs;
        quickCrashes = 0;
      }
      quickCrashes++;
      if (quickCrashes > maxQuickCrashes) {
        log(
          `supervisor: giving up after ${maxQuickCrashes} crashes in a row; run \`axon cluster up\``,
        );
        return 1;
      }
      log(
        `supervisor: the control plane exited (${describeExit(run)}) after ${(uptime / 1000).toFixed(1)}s; restarting in ${(delay / 1000).toFixed(1)}s`,
      );
      this.#state = "restarting";
      this.#restartAt = Date.now() + delay;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
      this.#restartAt = undefined;
      if (this.#stopRequested) return 0;
      if (!existsSync(home)) {
        log(`supervisor: ${home} is gone; not restarting`);
        return 1;
      }
      delay = Math.min(delay * 2, maxDelayMs);
    }
  }

  #runOnce(): Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    running: boolean;
    stopping: boolean;
    homeTaken: boolean;
  }> {
    return new Promise((resolve) => {
      let running = false;
      let stopping = false;
      let homeTaken = false;
      this.#childStopping = false;
      const child = spawn(process.execPath, this.#options.daemonArgs, {
        stdio: ["ignore", "inherit", "inherit", "ipc"],
        env: { ...process.env, [SUPERVISOR_PID_ENV]: String(process.pid) },
      });
      this.#child = child;
      child.on("message", (message: unknown) => {
        if (message === "running") {
          running = true;
          this.#state = "running";
        }
        if (message === "home-taken") homeTaken = true;
        if (message === "stopping") {
          stopping = true;
          this.#childStopping = true;
        }
      });
      const done = (code: number | null, signal: NodeJS.Signals | null): void => {
        this.#child = undefined;
        resolve({ code, signal, running, stopping, homeTaken });
      };
      child.once("error", (error) => {
        this.#options.log(`supervisor: cannot start the control plane: ${error.message}`);
        done(1, null);
      });
      // "close", not "exit": it comes once the IPC channel is closed too, so a message the daemon
      // sent just before exiting (`home-taken`) has been read by then.
      child.once("close", done);
    });
  }
}

function describeExit(run: { code: number | null; signal: NodeJS.Signals | null }): string {
  return run.signal !== null ? `signal ${run.signal}` : `exit code ${run.code ?? "?"}`;
}

/** What a supervisor is doing, as its supervision socket tells a CLI. */
export type SupervisorState = "starting" | "running" | "restarting" | "watching" | "stopping";

/** One JSON line a supervisor writes to whoever connects to its supervision socket. */
export interface SupervisorStatus {
  pid: number;
  state: SupervisorState;
  daemonPid?: number;
  /** While `restarting`: how long until the next start. */
  restartInMs?: number;
}

/**
 * The address of a home's supervision socket. On Linux an abstract Unix socket (a name, no file):
 * the kernel frees it the instant its holder dies, however it dies, so there is never a stale
 * lock to judge — the property flock gives and Node does not expose. Elsewhere a socket file in
 * the home (a stale one is detected by a refused connection and replaced). The CLI computes the
 * same address (packages/cli/src/client/supervisor-probe.ts); change both together.
 */
export function supervisionSocketPath(home: string): string {
  let resolved: string;
  try {
    resolved = realpathSync(home);
  } catch {
    resolved = path.resolve(home);
  }
  if (process.platform === "linux") {
    const digest = createHash("sha256").update(resolved).digest("hex").slice(0, 40);
    return `\0axon-supervisor-${digest}`;
  }
  return path.join(resolved, "supervisor.sock");
}

/** The supervision of a home, held by this process until it exits (or `release`). */
export interface SupervisionClaim {
  release(): void;
}

/** How long a probe of a held socket waits for the holder's status line. */
const PROBE_TIMEOUT_MS = 2_000;

/**
 * Takes the home's supervision: listens on its supervision socket, answering each connection
 * with `status()` as one JSON line, and calling `startNow()` when the client's line is `start`.
 * Resolves `{ holder }` instead when another live process listens there already: the caller is
 * not the home's supervisor and must exit (issue 27: two supervisors of one home brought a
 * stopped cluster back).
 */
export async function claimSupervision(
  home: string,
  handlers: { status: () => SupervisorStatus; startNow: () => void },
): Promise<SupervisionClaim | { holder: SupervisorStatus | undefined }> {
  const address = supervisionSocketPath(home);
  for (let attempt = 0; ; attempt++) {
    // Half-open: the client ends its side after its one line, and the answer goes back after.
    const server = net.createServer({ allowHalfOpen: true }, (socket) => {
      socket.setTimeout(PROBE_TIMEOUT_MS, () => socket.destroy());
      socket.on("error", () => {});
      let line = "";
      socket.on("data", (data: Buffer) => {
        line += data.toString("utf8");
        if (line.length > 64) socket.destroy(); // `status` or `start`, nothing more
      });
      socket.on("end", () => {
        if (line.trim() === "start") handlers.startNow();
        socket.end(`${JSON.stringify(handlers.status())}\n`);
      });
    });
    const listened = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      server.once("error", resolve);
      server.listen(address, () => resolve(undefined));
    });
    if (listened === undefined) {
      // The socket must not keep a supervisor alive once its run is over.
      server.unref();
      return {
        release: () => {
          server.close();
          if (!address.startsWith("\0")) rmSync(address, { force: true });
        },
      };
    }
    server.close();
    if (listened.code !== "EADDRINUSE") throw listened;
    const holder = await probeSupervision(address, "status");
    if (holder !== undefined) return { holder };
    // Bound but not answering: a socket file left by a dead supervisor (replace it), or a holder
    // between bind and listen (ask again shortly).
    if (attempt >= 2) return { holder: undefined };
    if (!address.startsWith("\0")) rmSync(address, { force: true });
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The status line of the supervisor listening at `address`; undefined when none answers. */
export function probeSupervision(
  address: string,
  request: "status" | "start",
): Promise<SupervisorStatus | undefined> {
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
        const status = JSON.parse(text) as SupervisorStatus;
        done(typeof status.pid === "number" ? status : undefined);
      } catch {
        done(undefined);
      }
    });
  });
}
