/**
 * A replica: a TypeScript HTTP "front" plus `processes` Python worker processes
 * (`python -m axon_runtime.worker`) that it drives over one Unix socket with the framed protocol
 * in protocol.ts. The front parses HTTP once, counts in-flight requests, rejects beyond
 * `maxConcurrency` with 503, hands each body to the least-busy worker (or gathers bodies into
 * batches for `predict_batch`), answers 504 past the per-request timeout, replaces workers that
 * die, and keeps request metrics.
 *
 * Placement-neutral on purpose: the local gateway hosts fronts in-process, and the same class is
 * the entrypoint of an ECS container, so nothing here may import daemon internals.
 */
import { spawn } from "node:child_process";
import {
  appendFileSync,
  chmodSync,
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readSync,
  unlinkSync,
} from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import path from "node:path";
import { DEFAULT_PREDICTOR_TIMEOUT_MS } from "@axon/config";
import { type FrontRequest, type Responder, writeJsonError } from "./front-server.js";
import {
  type InFlightSample,
  InFlightSampler,
  RequestRecorder,
  type RequestStats,
} from "./metrics.js";
import { BodyKind, FrameReader, FrameType, PROTOCOL_VERSION } from "./protocol.js";
import { rawHeader } from "./raw-header.js";
import { resolveRuntimeDir } from "./runtime-dir.js";
import { Call, WorkerLink } from "./worker-link.js";

/** Everything needed to start one replica. */
export interface ReplicaOptions {
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
  /**
   * Requests admitted and not yet answered — reading the body, waiting for a batch, queued at or
   * running in a worker — beyond which the front answers 503 with Retry-After (Cortex's
   * `max_replica_concurrency`). Nothing else queues, so this is the only bound needed.
   */
  maxConcurrency: number;
  /**
   * Server-side batching: gather up to `maxBatchSize` requests, or what arrived within
   * `batchIntervalMs` of the first, and call `predict_batch(payloads)` once for them. A batch
   * also leaves early rather than grow past `maxBatchBytes` of bodies (default 256 MiB): the
   * worker reads a batch whole, and a frame's length field stops at 4 GiB.
   */
  batching?: { maxBatchSize: number; batchIntervalMs: number; maxBatchBytes?: number } | null;
  /** A request not answered this long after it was admitted gets 504. Default 60 s. */
  timeoutMs?: number;
  /** Directory for the Unix socket; `<runDir>/<id>.sock` must fit in 107 bytes. */
  runDir: string;
  /** Workers' stdout and stderr are appended here (the file outlives the front). */
  logFile: string;
  /** Directory holding `axon_runtime/`; default `$AXON_RUNTIME_DIR` or the package's own copy. */
  runtimeDir?: string;
}

export type ReplicaState = "starting" | "ready" | "draining" | "stopped" | "failed";

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

const DEFAULT_MAX_BATCH_BYTES = 256 * 1024 * 1024;
/** A replica replaces dead workers, but gives up (fails) past this many deaths per minute. */
const MAX_WORKER_RESTARTS_PER_MINUTE = 3;
const IN_FLIGHT_SAMPLE_MS = 1_000;
const DEFAULT_STOP_GRACE_MS = 10_000;
/** In-flight requests on surviving workers get this long when a sibling worker crashed. */
const FAILED_GRACE_MS = 5_000;
/** SIGTERM → SIGKILL escalation delay, and the bound on waiting for SIGKILLed processes. */
const KILL_AFTER_MS = 3_000;
/** After a worker exits, how long to wait for its socket to deliver its last frames. */
const EXIT_SETTLE_MS = 250;
/**
 * A worker whose connection closed gets this long to exit by itself (Python's shutdown after
 * `sys.exit` or a crash takes a few ms) before the front kills it, so the exit reported is its own.
 */
const DISCONNECTED_EXIT_MS = 1_000;
const MAX_SOCKET_PATH_BYTES = 107;
const MAX_REQUEST_ID_CHARS = 512;
const LOG_TAIL_LINES = 20;

/** A running replica; see the module comment. */
export class Replica {
  readonly id: string;
  /** Resolves when every worker finished `__init__`; rejects with a ReplicaStartError otherwise. */
  readonly ready: Promise<void>;

  readonly #options: ReplicaOptions;
  readonly #socketPath: string;
  readonly #server: Server;
  readonly #links: WorkerLink[] = [];
  readonly #exitListeners: ((info: ReplicaExitInfo) => void)[] = [];
  readonly #replacedListeners: Array<(pids: number[]) => void> = [];
  readonly #drainWaiters: (() => void)[] = [];
  /** Workers whose end was already handled (exit and socket close both lead there). */
  readonly #goneHandled = new WeakSet<WorkerLink>();
  readonly #timeoutMs: number;
  readonly #recorder = new RequestRecorder();
  readonly #sampler = new InFlightSampler();
  readonly #restarts: number[] = [];
  #runtimeDir = "";
  #state: ReplicaState = "starting";
  #inFlight = 0;
  /** The grace `stop()` was given, for the message to requests it cut short. */
  #stopGraceMs = 0;
  #wantsMeta = true;
  #nextPick = 0;
  #batch: Call[] = [];
  #batchBytes = 0;
  #batchTimer: ReturnType<typeof setTimeout> | null = null;
  #timers: ReturnType<typeof setInterval>[] = [];
  #shutdown: Promise<void> | null = null;
  #resolveReady: () => void = () => {};
  #rejectReady: (error: ReplicaStartError) => void = () => {};

  private constructor(options: ReplicaOptions, socketPath: string) {
    this.id = options.id;
    this.#options = options;
    this.#socketPath = socketPath;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_PREDICTOR_TIMEOUT_MS;
    this.ready = new Promise<void>((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    // Owners that only use onExit must not crash the process with an unhandled rejection.
    this.ready.catch(() => {});
    this.#server = createServer((socket) => this.#onConnection(socket));
  }

  /**
   * Binds the socket and spawns the workers. Throws (synchronously) only for options that can
   * never work — a socket path too long, no runtime directory; everything else rejects `ready`.
   */
  static start(options: ReplicaOptions): Replica {
    if (!Number.isInteger(options.processes) || options.processes < 1) {
      throw new RangeError(`processes must be an integer ≥ 1, got ${options.processes}`);
    }
    if (!Number.isInteger(options.threads) || options.threads < 1) {
      throw new RangeError(`threads must be an integer ≥ 1, got ${options.threads}`);
    }
    const batching = options.batching;
    if (
      batching !== undefined &&
      batching !== null &&
      (!Number.isInteger(batching.maxBatchSize) ||
        batching.maxBatchSize < 1 ||
        !(batching.batchIntervalMs > 0))
    ) {
      throw new RangeError(
        `batching needs an integer maxBatchSize ≥ 1 and a batchIntervalMs > 0, got ${JSON.stringify(batching)}`,
      );
    }
    if (options.timeoutMs !== undefined && !(options.timeoutMs > 0)) {
      throw new RangeError(`timeoutMs must be > 0, got ${options.timeoutMs}`);
    }
    const socketPath = path.join(options.runDir, `${options.id}.sock`);
    if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
      throw new RangeError(
        `the replica socket path ${socketPath} is longer than ${MAX_SOCKET_PATH_BYTES} bytes, ` +
          "the limit for Unix sockets; use a shorter run directory or replica id",
      );
    }
    const runtimeDir = resolveRuntimeDir(options.runtimeDir);
    const replica = new Replica(options, socketPath);
    replica.#launch(runtimeDir);
    return replica;
  }

  get state(): ReplicaState {
    return this.#state;
  }

  /**
   * True while at least one worker can take a request. A ready replica whose workers all died
   * answers 503 until their replacements load, so routers should send requests elsewhere.
   */
  get hasLiveWorker(): boolean {
    for (const link of this.#links) if (link.usable) return true;
    return false;
  }

  /** Requests accepted and not yet answered (reading the body, queued, or in `predict`). */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Counts by status class and the latency histogram of every request this replica answered. */
  requestStats(): RequestStats {
    return this.#recorder.stats();
  }

  /**
   * The in-flight gauge sampled once a second since the replica became ready (the last 10
   * minutes at most), oldest first — the autoscaler averages these over its window.
   */
  inFlightSamples(sinceEpochMs = 0): InFlightSample[] {
    return this.#sampler.since(sinceEpochMs);
  }

  /** Process ids of the worker processes (spawned ones, whether or not they are ready). */
  pids(): number[] {
    return this.#links.flatMap((link) => (link.child.pid === undefined ? [] : [link.child.pid]));
  }

  /** Registers a listener called once if a worker dies without being asked to. */
  onExit(listener: (info: ReplicaExitInfo) => void): void {
    this.#exitListeners.push(listener);
  }

  /** Registers a listener called after a dead worker was replaced (so `pids()` changed). */
  onWorkerReplaced(listener: (pids: number[]) => void): void {
    this.#replacedListeners.push(listener);
  }

  /**
   * Serves one HTTP request (its body already read by the FrontServer): frames it to the
   * least-busy worker, or into the next batch, and answers with the worker's result. Always
   * answers, and always sets `X-Request-ID`.
   */
  serve(request: FrontRequest, responder: Responder, requestId: string): void {
    const startedAt = performance.now();
    if (this.#state !== "ready") {
      const why =
        this.#state === "starting"
          ? "is still starting"
          : this.#state === "failed"
            ? "has failed"
            : "is shutting down";
      this.#refuse(
        responder,
        requestId,
        startedAt,
        `replica ${this.id} of ${this.#options.apiName} ${why}`,
      );
      return;
    }
    if (this.#inFlight >= this.#options.maxConcurrency) {
      this.#refuse(
        responder,
        requestId,
        startedAt,
        `${this.#options.apiName} is at its limit of ${this.#options.maxConcurrency} concurrent ` +
          "requests per replica; retry shortly",
      );
      return;
    }
    this.#inFlight++;
    const raw = request.rawHeaders;
    const bodyKind = isJsonContentType(rawHeader(raw, "content-type"))
      ? BodyKind.Json
      : BodyKind.Bytes;
    let meta: string | null = null;
    if (this.#wantsMeta) {
      const url = request.url;
      const q = url.indexOf("?");
      meta = JSON.stringify({ query: q >= 0 ? url.slice(q + 1) : "", headers: headerObject(raw) });
    }
    const id =
      requestId.length > MAX_REQUEST_ID_CHARS
        ? requestId.slice(0, MAX_REQUEST_ID_CHARS)
        : requestId;
    this.#admit(new Call(responder, id, startedAt, bodyKind, meta, request.body));
  }

  /** 503 with Retry-After: the replica cannot take the request now. */
  #refuse(responder: Responder, requestId: string, startedAt: number, message: string): void {
    writeJsonError(responder, 503, requestId, message, ["retry-after", "1"]);
    this.#recorder.record(503, performance.now() - startedAt);
  }

  /**
   * Stops accepting requests, lets in-flight ones finish within `graceMs`, then ends the
   * workers (socket close + SIGTERM, SIGKILL after 3 s) and removes the socket. Idempotent.
   */
  stop(graceMs: number = DEFAULT_STOP_GRACE_MS): Promise<void> {
    if (this.#shutdown !== null) return this.#shutdown;
    if (this.#state === "starting") {
      this.#rejectReady(
        new ReplicaStartError(`replica ${this.id} was stopped before it became ready`, {
          replicaId: this.id,
        }),
      );
    }
    this.#state = "draining";
    this.#stopGraceMs = graceMs;
    this.#shutdown = this.#teardown(graceMs).then(() => {
      if (this.#state !== "failed") this.#state = "stopped";
    });
    return this.#shutdown;
  }

  #launch(runtimeDir: string): void {
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
          `replica ${this.id} cannot listen on ${this.#socketPath}: ${error.message}`,
          { replicaId: this.id, cause: error },
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
    for (let index = 0; index < o.processes; index++) this.#links.push(this.#spawnWorker(index));
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
      const child = spawn(o.python, args, {
        cwd: o.projectDir,
        env,
        stdio: ["ignore", logFd, logFd],
      });
      const link = new WorkerLink(index, child, {
        onReady: () => this.#onWorkerReady(),
        onAnswered: (call, status) => this.#answered(call.startedAt, status),
      });
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
    if (link === undefined || link.socket !== null || link.child.pid !== hello.pid) return null;
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
    if (this.#state !== "starting") return;
    if (!this.#links.every((link) => link.ready)) return;
    const info = this.#links[0]?.readyInfo;
    const args = info?.args ?? [];
    const postArgs = info?.postPredictArgs ?? [];
    // Batches hand predict_batch the payloads alone; a predict given the batch gets every
    // argument it declares as a list (Cortex), so only then do batches carry query and headers —
    // or when post_predict declares them (it gets each request's own, batched or not).
    this.#wantsMeta =
      ((args.includes("query_params") || args.includes("headers")) &&
        (this.#options.batching == null || info?.predictBatch !== true)) ||
      postArgs.includes("query_params") ||
      postArgs.includes("headers");
    this.#state = "ready";
    this.#startTimers();
    this.#resolveReady();
  }

  #startTimers(): void {
    const sample = setInterval(
      () => this.#sampler.add(Date.now(), this.#inFlight),
      IN_FLIGHT_SAMPLE_MS,
    );
    // Checking a few times per timeout keeps 504s close to it at a negligible cost.
    const sweepMs = Math.min(1_000, Math.max(5, Math.floor(this.#timeoutMs / 10)));
    const sweep = setInterval(() => this.#expire(), sweepMs);
    sample.unref();
    sweep.unref();
    this.#timers = [sample, sweep];
  }

  #expire(): void {
    const deadline = performance.now() - this.#timeoutMs;
    const seconds = this.#timeoutMs / 1000;
    const message = (call: Call, where: string): string =>
      `${this.#options.apiName} did not answer request ${call.requestId} within the timeout of ${seconds}s${where}`;
    this.#expireBatch(deadline, (call) => message(call, " (it was waiting for its batch)"));
    for (const link of this.#links) {
      const expired = link.expire(deadline, (call) => message(call, ""));
      if (expired.length > 0) {
        this.#logLine(
          "WARNING",
          `${describeRequests(expired)} timed out after ${seconds}s and got 504; worker ${link.index} is still running ${expired.length === 1 ? "it" : "them"}`,
        );
      }
    }
  }

  /** Answers 504 to calls that waited past the timeout for their batch to leave. */
  #expireBatch(deadline: number, message: (call: Call) => string): void {
    const batch = this.#batch;
    if (batch.length === 0 || (batch[0] as Call).startedAt > deadline) return; // oldest first
    const expired = batch.filter((call) => call.startedAt <= deadline);
    this.#batch = batch.filter((call) => call.startedAt > deadline);
    this.#batchBytes = this.#batch.reduce((sum, call) => sum + call.body.length, 0);
    if (this.#batch.length === 0 && this.#batchTimer !== null) {
      clearTimeout(this.#batchTimer);
      this.#batchTimer = null;
    }
    for (const call of expired) {
      writeJsonError(call.res, 504, call.requestId, message(call));
      this.#answered(call.startedAt, 504);
    }
    this.#logLine(
      "WARNING",
      `${describeRequests(expired)} timed out waiting for a batch and got 504; batch_interval should be well below the timeout`,
    );
  }

  #onSocketClosed(link: WorkerLink): void {
    // A live worker that drops its connection can no longer be reached. It is usually exiting
    // already; if it is not gone soon, kill it so the usual exit path reports it.
    if (link.exit !== null || this.#shutdown !== null) return; // stopping: #teardown escalates
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
    // A planned stop (rolling update, scale-down, delete) that outlasted its grace is not the
    // predictor's fault: say so rather than blame the process the front itself ended.
    const stopping = this.#state === "draining";
    const failed = link.failPending(502, (requestId) =>
      stopping
        ? `replica ${this.id} of ${this.#options.apiName} was stopped before request ${requestId} finished (a stopping replica gives requests in flight ${this.#stopGraceMs / 1000}s); retry it`
        : `the predictor process of ${this.#options.apiName} ${exitText} while handling request ${requestId}; see the API logs`,
    );
    if (this.#shutdown !== null) return; // asked to stop, or already failed: expected
    const lost = failed.length > 0 ? ` (${describeRequests(failed)} got 502)` : "";
    const message = `worker ${link.index} of replica ${this.id} ${exitText}${lost}`;
    if (this.#state === "ready" && this.#mayRestart()) {
      this.#logLine("WARNING", `${message}; starting a replacement`);
      this.#links[link.index] = this.#spawnWorker(link.index);
      const pids = this.pids();
      for (const listener of this.#replacedListeners) listener(pids);
      return;
    }
    if (this.#state === "starting") {
      const lines = link.initFailure?.traceback
        ? tailLines(link.initFailure.traceback)
        : readLogTail(this.#options.logFile);
      const detail =
        link.exit?.spawnError !== undefined
          ? `: cannot run the Python interpreter '${this.#options.python}' (${link.exit.spawnError.message})`
          : link.initFailure?.error
            ? `: ${link.initFailure.error}`
            : lines.length > 0
              ? `: ${lines[lines.length - 1]}`
              : "";
      this.#failStart(
        new ReplicaStartError(`${message} before it was ready${detail}`, {
          replicaId: this.id,
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
    this.#fail(
      link,
      true,
      this.#state === "ready"
        ? `${message}, the ${MAX_WORKER_RESTARTS_PER_MINUTE + 1}th worker death within a minute`
        : message,
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

  /** A line of the front's own in the API log, formatted like the runtime's. */
  #logLine(level: string, message: string): void {
    const now = new Date();
    const pad = (n: number, width = 2): string => String(n).padStart(width, "0");
    const stamp =
      `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())} ` +
      `${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}.${pad(now.getMilliseconds(), 3)}`;
    try {
      appendFileSync(
        this.#options.logFile,
        `${stamp} ${level} [${this.#options.apiName} ${this.id} front] ${message}\n`,
      );
    } catch {
      // the log file is gone; serving matters more than logging
    }
  }

  #failStart(error: ReplicaStartError, link?: WorkerLink): void {
    if (this.#shutdown !== null) return;
    this.#rejectReady(error);
    this.#fail(link, false, error.message);
  }

  /** Marks the replica failed, tells the owner once, and ends the remaining workers. */
  #fail(link: WorkerLink | undefined, afterReady: boolean, message: string): void {
    this.#state = "failed";
    this.#shutdown = this.#teardown(FAILED_GRACE_MS);
    const info: ReplicaExitInfo = {
      code: link?.exit?.code ?? null,
      signal: link?.exit?.signal ?? null,
      afterReady,
      workerIndex: link?.index ?? -1,
      message,
    };
    for (const listener of this.#exitListeners) listener(info);
  }

  #admit(call: Call): void {
    const batching = this.#options.batching;
    if (batching == null) {
      const link = this.#pickWorker();
      if (link === undefined) this.#refuseNoWorker([call]);
      else link.send(call);
      return;
    }
    const maxBytes = batching.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
    if (this.#batch.length > 0 && this.#batchBytes + call.body.length > maxBytes) {
      this.#flushBatch();
    }
    this.#batch.push(call);
    this.#batchBytes += call.body.length;
    // Cortex semantics: a batch leaves when it is full or batch_interval after its first request.
    // (Sending it early to an idle worker was measured: it makes many tiny batches under load,
    // which costs more syscalls and wake-ups than the interval costs in latency.)
    if (this.#batch.length >= batching.maxBatchSize || this.#batchBytes >= maxBytes) {
      this.#flushBatch();
    } else if (this.#batchTimer === null) {
      this.#batchTimer = setTimeout(this.#flushBatch, batching.batchIntervalMs);
    }
  }

  readonly #flushBatch = (): void => {
    if (this.#batchTimer !== null) {
      clearTimeout(this.#batchTimer);
      this.#batchTimer = null;
    }
    const calls = this.#batch;
    if (calls.length === 0) return;
    this.#batch = [];
    this.#batchBytes = 0;
    const link = this.#pickWorker();
    if (link === undefined) this.#refuseNoWorker(calls);
    else link.sendBatch(calls);
  };

  #refuseNoWorker(calls: readonly Call[]): void {
    for (const call of calls) {
      writeJsonError(call.res, 503, call.requestId, `replica ${this.id} has no live worker`, [
        "retry-after",
        "1",
      ]);
      this.#answered(call.startedAt, 503);
    }
  }

  /** Least in-flight live worker; ties rotate so idle workers share the load. */
  #pickWorker(): WorkerLink | undefined {
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

  /** A call got its answer: count it and free its slot. */
  #answered(startedAt: number, status: number): void {
    this.#recorder.record(status, performance.now() - startedAt);
    this.#release();
  }

  #release(): void {
    this.#inFlight--;
    if (this.#inFlight === 0 && this.#drainWaiters.length > 0) {
      for (const resolve of this.#drainWaiters.splice(0)) resolve();
    }
  }

  async #teardown(graceMs: number): Promise<void> {
    if (this.#inFlight > 0 && graceMs > 0) {
      await withTimeout(new Promise<void>((resolve) => this.#drainWaiters.push(resolve)), graceMs);
    }
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    if (this.#batchTimer !== null) clearTimeout(this.#batchTimer);
    this.#batchTimer = null;
    const unsent = this.#batch;
    this.#batch = [];
    this.#batchBytes = 0;
    for (const call of unsent) {
      writeJsonError(call.res, 503, call.requestId, `replica ${this.id} is shutting down`, [
        "retry-after",
        "1",
      ]);
      this.#answered(call.startedAt, 503);
    }
    const alive = (): WorkerLink[] => this.#links.filter((link) => link.exit === null);
    // Closing the socket is enough for a healthy worker; SIGTERM covers one stuck in predict().
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
}

function isJsonContentType(value: string | undefined): boolean {
  if (value === undefined) return false;
  if (value === "application/json") return true;
  const semicolon = value.indexOf(";");
  const type = (semicolon >= 0 ? value.slice(0, semicolon) : value).trim().toLowerCase();
  return type === "application/json";
}

/**
 * Request headers as an object with lower-case names, as a predictor asking for `headers` gets
 * them; repeated headers are joined with ", " (Node's `req.headers` does the same for most).
 */
function headerObject(rawHeaders: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] as string).toLowerCase();
    const value = rawHeaders[i + 1] as string;
    const previous = headers[name];
    headers[name] = previous === undefined ? value : `${previous}, ${value}`;
  }
  return headers;
}

function describeExit(link: WorkerLink): string {
  const exit = link.exit;
  if (exit === null) return "lost its connection";
  if (exit.spawnError !== undefined) return "could not be started";
  if (link.killedAfterDisconnect) {
    return `closed its connection and was killed (it had not exited ${DISCONNECTED_EXIT_MS / 1000}s later)`;
  }
  if (exit.signal !== null) return `was killed by ${exit.signal}`;
  return `exited with code ${exit.code ?? "unknown"}`;
}

function withoutAxonVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith("AXON_")));
}

/** `request a1` or `requests a1, a2, a3` (the first 10, then a count), for log lines. */
function describeRequests(calls: readonly Call[]): string {
  const ids = calls.slice(0, 10).map((call) => call.requestId);
  const more = calls.length > ids.length ? ` and ${calls.length - ids.length} more` : "";
  return `${calls.length === 1 ? "request" : "requests"} ${ids.join(", ")}${more}`;
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

async function withTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    promise,
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}
