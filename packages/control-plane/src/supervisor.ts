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
import { existsSync } from "node:fs";

/** Messages the daemon sends its supervisor. */
export type SupervisedMessage = "running" | "stopping";

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

  /** Runs the daemon until it stops as asked or cannot start; resolves with the exit code to use. */
  async run(): Promise<number> {
    const { log, home, firstDelayMs, maxDelayMs, stableAfterMs, maxQuickCrashes } = this.#options;
    let delay = firstDelayMs;
    let quickCrashes = 0;
    for (let start = 1; ; start++) {
      const startedAt = Date.now();
      const run = await this.#runOnce();
      // Exit code 0 is a stop too: main returns 0 only after one, and a message sent just
      // before exiting may not have crossed the channel.
      if (this.#stopRequested || run.stopping || run.code === 0) return run.code ?? 0;
      if (!run.running) {
        if (start === 1) return run.code ?? 1;
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
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
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
  }> {
    return new Promise((resolve) => {
      let running = false;
      let stopping = false;
      this.#childStopping = false;
      const child = spawn(process.execPath, this.#options.daemonArgs, {
        stdio: ["ignore", "inherit", "inherit", "ipc"],
        env: { ...process.env, [SUPERVISOR_PID_ENV]: String(process.pid) },
      });
      this.#child = child;
      child.on("message", (message: unknown) => {
        if (message === "running") running = true;
        if (message === "stopping") {
          stopping = true;
          this.#childStopping = true;
        }
      });
      const done = (code: number | null, signal: NodeJS.Signals | null): void => {
        this.#child = undefined;
        resolve({ code, signal, running, stopping });
      };
      child.once("error", (error) => {
        this.#options.log(`supervisor: cannot start the control plane: ${error.message}`);
        done(1, null);
      });
      child.once("exit", done);
    });
  }
}

function describeExit(run: { code: number | null; signal: NodeJS.Signals | null }): string {
  return run.signal !== null ? `signal ${run.signal}` : `exit code ${run.code ?? "?"}`;
}
