/**
 * The worker side of a replica: `processes` Python worker processes (`python -m
 * axon_runtime.worker`) that connect back on one Unix socket and speak the framed protocol of
 * protocol.ts. The pool spawns them, matches each connection to its process, replaces a worker
 * that dies (failing once deaths come too fast), and ends them all when asked.
 *
 * Kept apart from the front (replica.ts) so that process supervision can be read, and run, without
 * admission, batching and timeouts mixed in. The pool never sees HTTP: the front asks it for a
 * live worker and sends calls to that worker's link; the pool tells the front when every worker is
 * ready, when a worker is gone with the calls it still had, and when it gives up.
 */
import { spawn } from "node:child_process";
import {
  chmodSync,
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readSync,
  unlinkSync,
} from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { constants } from "node:os";
import path from "node:path";
import {
  PredictionRecorder,
  type MonitoringConfig,
  type PredictionTally,
} from "./prediction-recorder.js";
import { FrameReader, FrameType, PROTOCOL_VERSION } from "./protocol.js";
import { appendReplicaLogLine, describeRequests } from "./replica-log.js";
import { resolveRuntimeDir } from "./runtime-dir.js";
import { withTimeout } from "./with-timeout.js";
import { type Call, WorkerLink, type WorkerReadyInfo } from "./worker-link.js";

/** Everything needed to spawn and supervise one replica's workers. */
export interface WorkerPoolOptions {
  /** `monitoring` of the API: every worker's successful answers are tallied (absent: none). */
  monitoring?: MonitoringConfig;
  /** Unique among live replicas; also names the socket, so keep it short (e.g. `r-1a2b`). */
  id: string;
  apiName: string;
  /** Absolute path of the unpacked project; the workers' working directory. */
  projectDir: string;
  /** Predictor file relative to `projectDir`. */
  predictorPath: string;
  /** Directory relative to `projectDir` added to the workers' `sys.path`. */
  pythonPath?: string;
  /** `predictor.config`, passed to `PythonPredictor.__init__(config)`. */
  config: Record<string, unknown>;
  /** `predictor.env`, added on top of this process's environment. */
  env: Record<string, string>;
  /** Python interpreter that runs the workers (absolute path or a name on PATH). */
  python: string;
  processes: number;
  threads: number;
  /** Directory for the Unix socket; `<runDir>/<id>.sock` must fit in 107 bytes. */
  runDir: string;
  /** Workers' stdout and stderr are appended here (the file outlives the front). */
  logFile: string;
  /** Directory holding `axon_runtime/`; default `$AXON_RUNTIME_DIR` or the package's own copy. */
  runtimeDir?: string;
  /** Wraps each worker's command (a sandbox, a cgroup join); absent: the interpreter itself. */
  launcher?: WorkerLauncher;
}

/**
 * How a worker process is launched when it is not simply `python args…`: the owner (the local
 * provider) wraps the command, e.g. in bubblewrap, and the pool stays ignorant of how.
 */
export interface WorkerLauncher {
  /** The command to spawn instead of `python args…`. */
  command(
    python: string,
    args: string[],
    paths: { socketPath: string; runtimeDir: string },
  ): { file: string; args: string[] };
  /**
   * The worker runs in a pid namespace of its own, so the pid in its HELLO is not the spawned
   * process's. Its socket is then reachable by nothing but this replica's workers (it is the only
   * path of the daemon bound into their namespace), and the worker index alone matches it.
   */
  readonly pidNamespace: boolean;
}

/** Passed to `onExit` listeners when the replica fails: a worker died and was not replaced. */
export interface ReplicaExitInfo {
  code: number | null;
  signal: string | null;
  /** False when the replica never became ready (then `ready` has rejected too). */
  afterReady: boolean;
  workerIndex: number;
  /** One line saying what happened, e.g. `worker 1 of replica r-1 was killed by SIGKILL`. */
  message: string;
}

/** Why a replica did not become ready. */
export class ReplicaStartError extends Error {
  readonly replicaId: string;
  readonly workerIndex: number | null;
  readonly code: number | null;
  readonly signal: string | null;
  /** The worker's last stderr lines (the traceback when loading the predictor raised). */
  readonly lastLines: string[];

  constructor(
    message: string,
    options: {
      replicaId: string;
      workerIndex?: number | null;
      code?: number | null;
      signal?: string | null;
      lastLines?: string[];
      cause?: unknown;
    },
  ) {
    super(message, { cause: options.cause });
    this.name = "ReplicaStartError";
    this.replicaId = options.replicaId;
    this.workerIndex = options.workerIndex ?? null;
    this.code = options.code ?? null;
    this.signal = options.signal ?? null;
    this.lastLines = options.lastLines ?? [];
  }
}

/**
 * How the pool reports to its owner (the front). Each is called synchronously from the pool's
 * process and socket handlers.
 */
export interface WorkerPoolHooks {
  /** Every worker has loaded the predictor (once, at start-up); `info` is worker 0's READY. */
  onReady(info: WorkerReadyInfo | null): void;
  /**
   * A call sent to a worker was answered with `status` (or failed); fires once per call. The
   * worker links call it straight, detached from this object (no hop through the pool on the
   * hot path), so pass an arrow function.
   */
  onAnswered: (call: Call, status: number) => void;
  /**
   * Worker `link` is gone (`exitText` says how, e.g. `was killed by SIGKILL`): answer every call
   * it still had (`link.failPending`) and return those calls, which the pool names in its own
   * messages. Called once per worker, while the pool closes too.
   */
  onWorkerGone(link: WorkerLink, exitText: string): readonly Call[];
  /** A replacement worker is ready (after `onReady`): calls held for one can go now. */
  onWorkerAvailable?(): void;
  /**
   * The pool gave up: the socket could not be bound or a worker died before every worker was
   * ready (then `startError` says why, for `ready` to reject with), or workers died too often. It
   * has stopped replacing workers; the owner should `close()` it.
   */
  onFailed(info: ReplicaExitInfo, startError: ReplicaStartError | null): void;
}

/** A replica replaces dead workers, but gives up (fails) past this many deaths per minute. */
const MAX_WORKER_RESTARTS_PER_MINUTE = 3;
/** SIGTERM → SIGKILL escalation delay, and the bound on waiting for SIGKILLed processes. */
const KILL_AFTER_MS = 3_000;
/** After a worker exits, how long to wait for its socket to deliver its last frames. */
const EXIT_SETTLE_MS = 250;
/**
 * A worker whose connection closed gets this long to exit by itself (Python's shutdown after
 * `sys.exit` or a crash takes a few ms) before the pool kills it, so the exit reported is its own.
 */
const DISCONNECTED_EXIT_MS = 1_000;
const MAX_SOCKET_PATH_BYTES = 107;
const LOG_TAIL_LINES = 20;

/**
 * `starting` until every worker is ready, then `running` (dead workers are replaced); `closing`
 * once the owner retires or closes it, or it gave up (deaths are expected and not reported).
 */
type PoolPhase = "starting" | "running" | "closing";

/** One replica's worker processes; see the module comment. */
export class WorkerPool {
  readonly #options: WorkerPoolOptions;
  readonly #hooks: WorkerPoolHooks;
  readonly #socketPath: string;
  readonly #server: Server;
  readonly #links: WorkerLink[] = [];
  readonly #replacedListeners: Array<(pids: number[]) => void> = [];
  /** Workers whose end was already handled (exit and socket close both lead there). */
  readonly #goneHandled = new WeakSet<WorkerLink>();
  readonly #restarts: number[] = [];
  #runtimeDir = "";
  #phase: PoolPhase = "starting";
  #nextPick = 0;
  readonly #recorder: PredictionRecorder | undefined;

  /** Throws a RangeError for a process or thread count that can never work; spawns nothing. */
  constructor(options: WorkerPoolOptions, hooks: WorkerPoolHooks) {
    if (!Number.isInteger(options.processes) || options.processes < 1) {
      throw new RangeError(`processes must be an integer ≥ 1, got ${options.processes}`);
    }
    if (!Number.isInteger(options.threads) || options.threads < 1) {
      throw new RangeError(`threads must be an integer ≥ 1, got ${options.threads}`);
    }
    this.#options = options;
    this.#hooks = hooks;
    this.#recorder =
      options.monitoring === undefined ? undefined : new PredictionRecorder(options.monitoring);
    this.#socketPath = path.join(options.runDir, `${options.id}.sock`);
    this.#server = createServer((socket) => this.#onConnection(socket));
  }

  /**
   * Binds the socket and spawns the workers. Throws (synchronously) only for options that can
   * never work — a socket path too long, no runtime directory; everything else ends in `onFailed`.
   */
  start(): void {
    if (Buffer.byteLength(this.#socketPath) > MAX_SOCKET_PATH_BYTES) {
      throw new RangeError(
        `the replica socket path ${this.#socketPath} is longer than ${MAX_SOCKET_PATH_BYTES} bytes, ` +
          "the limit for Unix sockets; use a shorter run directory or replica id",
      );
    }
    const runtimeDir = resolveRuntimeDir(this.#options.runtimeDir);
    const o = this.#options;
    mkdirSync(o.runDir, { recursive: true, mode: 0o700 });
    try {
      unlinkSync(this.#socketPath); // left behind by a front that was killed
    } catch {
      // absent: the normal case
    }
    this.#server.on("error", (error) => {
      this.#failStart(
        new ReplicaStartError(
          `replica ${o.id} cannot listen on ${this.#socketPath}: ${error.message}`,
          { replicaId: o.id, cause: error },
        ),
      );
    });
    // For a Unix socket path, listen() binds synchronously in the primary process, so the workers
    // spawned next can connect at once and pids() is complete as soon as start() returns.
    this.#server.listen(this.#socketPath);
    try {
      chmodSync(this.#socketPath, 0o600);
    } catch {
      // listen failed; the error handler reports it
    }

    mkdirSync(path.dirname(o.logFile), { recursive: true });
    this.#runtimeDir = runtimeDir;
    try {
      for (let index = 0; index < o.processes; index++) this.#links.push(this.#spawnWorker(index));
    } catch (error) {
      // spawn() throws (rather than emitting "error") for what the kernel refuses outright, e.g.
      // E2BIG for an environment larger than a process may have: the replica fails to start like
      // one whose interpreter is missing, after start() returns so its owner hears it.
      const startError = new ReplicaStartError(
        `replica ${o.id} could not start its workers: ${spawnFailureText(o.python, error)}`,
        { replicaId: o.id, cause: error },
      );
      process.nextTick(() => this.#failStart(startError));
    }
  }

  /** The workers by index (a replacement takes its predecessor's slot); the front sweeps them. */
  get links(): readonly WorkerLink[] {
    return this.#links;
  }

  /** True while at least one worker can take a request. */
  /** The predictions tallied since the last call (prediction monitoring); undefined: none. */
  drainPredictions(): PredictionTally | undefined {
    return this.#recorder?.drain();
  }

  get hasLiveWorker(): boolean {
    for (const link of this.#links) if (link.usable) return true;
    return false;
  }

  /** Process ids of the worker processes (spawned ones, whether or not they are ready). */
  pids(): number[] {
    return this.#links.flatMap((link) => (link.child.pid === undefined ? [] : [link.child.pid]));
  }

  /** Registers a listener called after a dead worker was replaced (so `pids()` changed). */
  onWorkerReplaced(listener: (pids: number[]) => void): void {
    this.#replacedListeners.push(listener);
  }

  /** Least in-flight live worker; ties rotate so idle workers share the load. */
  pickWorker(): WorkerLink | undefined {
    const links = this.#links;
    const count = links.length;
    let best: WorkerLink | undefined;
    for (let i = 0; i < count; i++) {
      const link = links[(this.#nextPick + i) % count];
      if (link === undefined || !link.usable) continue;
      if (best === undefined || link.inFlight < best.inFlight) best = link;
    }
    this.#nextPick = (this.#nextPick + 1) % count;
    return best;
  }

  /**
   * Kills a worker the front found stuck (SIGKILL: a stopped process ignores anything else, a
   * stuck one may ignore SIGTERM). It is then reported and replaced like a worker that died, with
   * `description` (e.g. `sent nothing for 60s …`) as what happened to it.
   */
  killStuck(link: WorkerLink, description: string): void {
    if (link.exit !== null) return;
    link.killedAsStuck = description;
    link.child.kill("SIGKILL");
  }

  /**
   * From now on a worker's end is expected: it is neither replaced nor reported through
   * `onFailed` (its calls still go to `onWorkerGone`). The owner calls this when it starts to
   * stop, before it lets requests drain; `close()` then ends the processes. Idempotent.
   */
  retire(): void {
    this.#phase = "closing";
  }

  /**
   * Retires the pool and ends the workers: closes their connections (enough for a healthy
   * worker), SIGTERMs them (for one stuck in `predict()`), SIGKILLs what is left after 3 s, and
   * removes the socket.
   */
  async close(): Promise<void> {
    this.retire();
    const alive = (): WorkerLink[] => this.#links.filter((link) => link.exit === null);
    for (const link of this.#links) link.socket?.end();
    for (const link of alive()) link.child.kill("SIGTERM");
    await withTimeout(Promise.all(alive().map((link) => link.exited)), KILL_AFTER_MS);
    for (const link of alive()) link.child.kill("SIGKILL");
    await withTimeout(Promise.all(alive().map((link) => link.exited)), KILL_AFTER_MS);
    for (const link of this.#links) link.socket?.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    try {
      unlinkSync(this.#socketPath);
    } catch {
      // already gone (server.close removes it on most platforms)
    }
  }

  /** Starts worker `index` (at start-up, or to replace one that died). */
  #spawnWorker(index: number): WorkerLink {
    const o = this.#options;
    // The host process's own AXON_ settings (its home, ports, interpreter) are not the
    // predictor's business; what the replica passes in `env` (and below) is.
    const env: Record<string, string | undefined> = {
      ...withoutAxonVariables(process.env),
      ...o.env,
    };
    env["PYTHONPATH"] = [this.#runtimeDir, env["PYTHONPATH"]].filter(Boolean).join(path.delimiter);
    env["PYTHONUNBUFFERED"] = "1";
    env["AXON_PREDICTOR_CONFIG"] = JSON.stringify(o.config ?? {});
    // As in Cortex's container, `python`, `pip` and console scripts are the API's environment:
    // the interpreter's folder comes first on PATH (a predictor that runs `python -m …` gets
    // the API's packages, not the host's).
    if (path.isAbsolute(o.python)) {
      env["PATH"] = [path.dirname(o.python), env["PATH"]].filter(Boolean).join(path.delimiter);
    }
    // Where the project is (Cortex mounted it at /mnt/project; a predictor may read this instead).
    env["AXON_PROJECT_DIR"] = o.projectDir;
    const logFd = openSync(o.logFile, "a");
    try {
      const args = [
        "-m",
        "axon_runtime.worker",
        "--socket",
        this.#socketPath,
        "--worker-index",
        String(index),
        "--replica-id",
        o.id,
        "--api",
        o.apiName,
        "--project",
        o.projectDir,
        "--predictor",
        o.predictorPath,
        "--threads",
        String(o.threads),
      ];
      if (o.pythonPath !== undefined && o.pythonPath !== "") {
        args.push("--python-path", o.pythonPath);
      }
      if (o.launcher !== undefined && path.isAbsolute(o.python) && !existsSync(o.python)) {
        // Inside a sandbox the wrapper, not the interpreter, would fail to start; say it here.
        throw Object.assign(new Error(`spawn ${o.python} ENOENT`), { code: "ENOENT" });
      }
      const command = o.launcher?.command(o.python, args, {
        socketPath: this.#socketPath,
        runtimeDir: this.#runtimeDir,
      }) ?? { file: o.python, args };
      const child = spawn(command.file, command.args, {
        cwd: o.projectDir,
        env,
        stdio: ["ignore", logFd, logFd],
      });
      const link = new WorkerLink(index, child, {
        onReady: () => this.#onWorkerReady(),
        onAnswered: this.#hooks.onAnswered,
        onDebugAnswer: (call, status, body) =>
          appendReplicaLogLine(
            o,
            "INFO",
            `debug ${call.requestId}: payload ${debugText(call.body)} → ${status} ${debugText(body)}`,
          ),
      });
      link.recorder = this.#recorder;
      child.once("error", (error) => this.#onChildExit(link, null, null, error));
      child.once("exit", (code, signal) => this.#onChildExit(link, code, signal));
      return link;
    } finally {
      closeSync(logFd); // each child holds its own copy
    }
  }

  #onConnection(socket: Socket): void {
    let link: WorkerLink | null = null;
    let rejected = false;
    const reader = new FrameReader((buffer, start, end) => {
      if (link !== null) {
        link.onFrame(buffer, start, end);
      } else if (!rejected) {
        link = this.#attach(socket, buffer, start, end);
        if (link === null) {
          rejected = true;
          socket.destroy();
        }
      }
    });
    socket.on("data", (chunk: Buffer) => reader.push(chunk));
    socket.on("error", () => {}); // "close" follows and is handled there
    socket.once("close", () => {
      if (link !== null) this.#onSocketClosed(link);
    });
  }

  /** Matches a HELLO to a spawned worker; anything else on the socket is refused. */
  #attach(socket: Socket, buffer: Buffer, start: number, end: number): WorkerLink | null {
    if (buffer[start] !== FrameType.Hello) return null;
    let hello: { protocol?: unknown; worker?: unknown; pid?: unknown };
    try {
      hello = JSON.parse(buffer.toString("utf8", start + 1, end)) as typeof hello;
    } catch {
      return null;
    }
    const link = this.#links[typeof hello.worker === "number" ? hello.worker : -1];
    if (link === undefined || link.socket !== null) return null;
    if (this.#options.launcher?.pidNamespace !== true && link.child.pid !== hello.pid) return null;
    if (hello.protocol !== PROTOCOL_VERSION) {
      link.initFailure = {
        error: `the worker speaks protocol ${String(hello.protocol)}, the front ${PROTOCOL_VERSION}; the runtime directory and the control plane are from different versions`,
        traceback: "",
      };
      link.child.kill("SIGKILL");
      return null;
    }
    link.socket = socket;
    return link;
  }

  #onWorkerReady(): void {
    if (this.#phase === "running") this.#hooks.onWorkerAvailable?.();
    if (this.#phase !== "starting") return;
    if (!this.#links.every((link) => link.ready)) return;
    this.#phase = "running";
    this.#hooks.onReady(this.#links[0]?.readyInfo ?? null);
  }

  #onSocketClosed(link: WorkerLink): void {
    // A live worker that drops its connection can no longer be reached. It is usually exiting
    // already; if it is not gone soon, kill it so the usual exit path reports it.
    if (link.exit !== null || this.#phase === "closing") return; // closing: close() escalates
    const timer = setTimeout(() => {
      if (link.exit !== null) return;
      link.killedAfterDisconnect = true;
      link.child.kill("SIGKILL");
    }, DISCONNECTED_EXIT_MS);
    timer.unref();
  }

  #onChildExit(
    link: WorkerLink,
    code: number | null,
    signal: string | null,
    spawnError?: Error,
  ): void {
    // bubblewrap exits with 128 + n when the worker inside was killed by signal n: report the
    // signal, as for a worker spawned directly.
    if (this.#options.launcher?.pidNamespace === true && code !== null && code > 128) {
      const name = signalName(code - 128);
      if (name !== undefined) {
        signal = name;
        code = null;
      }
    }
    if (!link.recordExit(code, signal, spawnError)) return;
    // The exit can overtake the worker's last frames (INIT_FAILED) still in the socket: give the
    // connection a moment to deliver them before deciding what to report.
    const socket = link.socket;
    if (socket !== null && socket.closed) {
      this.#onWorkerGone(link);
      return;
    }
    const timer = setTimeout(() => this.#onWorkerGone(link), EXIT_SETTLE_MS);
    const settleNow = (): void => {
      clearTimeout(timer);
      this.#onWorkerGone(link);
    };
    if (socket !== null) socket.once("close", settleNow);
    else if (spawnError !== undefined) settleNow();
  }

  #onWorkerGone(link: WorkerLink): void {
    if (this.#goneHandled.has(link)) return;
    this.#goneHandled.add(link);
    link.socket?.destroy();
    const exitText = describeExit(link);
    const failed = this.#hooks.onWorkerGone(link, exitText);
    if (this.#phase === "closing") return; // asked to stop, or already failed: expected
    const o = this.#options;
    const lost = failed.length > 0 ? ` (${describeRequests(failed)} got 502)` : "";
    const message = `worker ${link.index} of replica ${o.id} ${exitText}${lost}`;
    if (this.#phase === "running" && this.#mayRestart()) {
      appendReplicaLogLine(o, "WARNING", `${message}; starting a replacement`);
      try {
        this.#links[link.index] = this.#spawnWorker(link.index);
      } catch (error) {
        this.#giveUp(
          link,
          true,
          `${message}; no replacement could be started: ${spawnFailureText(o.python, error)}`,
          null,
        );
        return;
      }
      const pids = this.pids();
      for (const listener of this.#replacedListeners) listener(pids);
      return;
    }
    if (this.#phase === "starting") {
      const lines = link.initFailure?.traceback
        ? tailLines(link.initFailure.traceback)
        : readLogTail(o.logFile);
      const detail =
        link.exit?.spawnError !== undefined
          ? `: cannot run the Python interpreter '${o.python}' (${link.exit.spawnError.message})`
          : link.initFailure?.error
            ? `: ${link.initFailure.error}`
            : lines.length > 0
              ? `: ${lines[lines.length - 1]}`
              : "";
      this.#failStart(
        new ReplicaStartError(`${message} before it was ready${detail}`, {
          replicaId: o.id,
          workerIndex: link.index,
          code: link.exit?.code ?? null,
          signal: link.exit?.signal ?? null,
          lastLines: lines,
          cause: link.exit?.spawnError,
        }),
        link,
      );
      return;
    }
    this.#giveUp(
      link,
      true,
      `${message}, the ${MAX_WORKER_RESTARTS_PER_MINUTE + 1}th worker death within a minute`,
      null,
    );
  }

  /** Records a restart unless the budget for the last minute is spent. */
  #mayRestart(): boolean {
    const now = Date.now();
    while (this.#restarts.length > 0 && (this.#restarts[0] ?? 0) < now - 60_000) {
      this.#restarts.shift();
    }
    if (this.#restarts.length >= MAX_WORKER_RESTARTS_PER_MINUTE) return false;
    this.#restarts.push(now);
    return true;
  }

  #failStart(error: ReplicaStartError, link?: WorkerLink): void {
    if (this.#phase === "closing") return;
    this.#giveUp(link, false, error.message, error);
  }

  /** Stops replacing workers and tells the owner once, who then closes the pool. */
  #giveUp(
    link: WorkerLink | undefined,
    afterReady: boolean,
    message: string,
    startError: ReplicaStartError | null,
  ): void {
    this.retire();
    const info: ReplicaExitInfo = {
      code: link?.exit?.code ?? null,
      signal: link?.exit?.signal ?? null,
      afterReady,
      workerIndex: link?.index ?? -1,
      message,
    };
    this.#hooks.onFailed(info, startError);
  }
}

function describeExit(link: WorkerLink): string {
  const exit = link.exit;
  if (exit === null) return "lost its connection";
  if (exit.spawnError !== undefined) return "could not be started";
  if (link.killedAsStuck !== null) return link.killedAsStuck;
  if (link.killedAfterDisconnect) {
    return `closed its connection and was killed (it had not exited ${DISCONNECTED_EXIT_MS / 1000}s later)`;
  }
  if (exit.signal !== null) return `was killed by ${exit.signal}`;
  return `exited with code ${exit.code ?? "unknown"}`;
}

function signalName(signo: number): NodeJS.Signals | undefined {
  for (const [name, value] of Object.entries(constants.signals)) {
    if (value === signo) return name as NodeJS.Signals;
  }
  return undefined;
}

/** `spawn E2BIG` in words a user can act on. */
function spawnFailureText(python: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === "E2BIG") {
    return "the operating system refused to start the Python interpreter (spawn E2BIG: its environment or arguments are too large); shorten predictor.env or the API's secrets";
  }
  return `cannot run the Python interpreter '${python}' (${error instanceof Error ? error.message : String(error)})`;
}

function withoutAxonVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith("AXON_")));
}

function tailLines(text: string): string[] {
  return text
    .split("\n")
    .map((line) => line.trimEnd())
    .filter((line) => line !== "")
    .slice(-LOG_TAIL_LINES);
}

/** Last lines of the workers' log file: the only record of a worker that died before HELLO. */
function readLogTail(file: string): string[] {
  let fd: number | undefined;
  try {
    fd = openSync(file, "r");
    const size = fstatSync(fd).size;
    const length = Math.min(size, 16 * 1024);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    return tailLines(buffer.toString("utf8"));
  } catch {
    return [];
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** At most this much of a `?debug=true` payload or answer goes to the log. */
const DEBUG_CAP_BYTES = 2048;

/** A payload or an answer for a debug log line: one line, capped, with its size when cut. */
function debugText(bytes: Buffer): string {
  const text = bytes
    .subarray(0, DEBUG_CAP_BYTES)
    .toString("utf8")
    .replace(/\s*\n\s*/g, " ");
  return bytes.length > DEBUG_CAP_BYTES ? `${text}… (${bytes.length} bytes)` : text;
}
