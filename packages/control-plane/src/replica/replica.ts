/**
 * A replica's front: where every request to a replica enters, as a TypeScript HTTP handler over a
 * WorkerPool of Python workers (worker-pool.ts). It parses nothing twice and queues nothing
 * unbounded: it counts in-flight requests and answers 503 beyond `maxConcurrency`, hands each body
 * to the least-busy worker the pool offers (or gathers bodies into batches for `predict_batch`),
 * answers 504 past the per-request timeout, recycles a worker stuck past it (gunicorn's
 * `--timeout`), lets requests drain on stop, and keeps the request metrics the autoscaler reads.
 *
 * Split from the pool so that admission and batching — the hot path — read on their own, and so
 * that any host can run this front over a pool: the front never touches a process, it asks the
 * pool for a live worker and answers the calls of a worker the pool reports gone.
 *
 * Placement-neutral on purpose: the local gateway hosts fronts in-process, and the same class is
 * the entrypoint of an ECS container, so nothing here may import daemon internals.
 */
import { DEFAULT_PREDICTOR_TIMEOUT_MS } from "@axon/config";
import {
  type BodyTicket,
  type FrontRequest,
  type Responder,
  writeJsonError,
} from "./front-server.js";
import {
  type InFlightSample,
  InFlightSampler,
  RequestRecorder,
  type RequestStats,
} from "./metrics.js";
import type { PredictionTally } from "./prediction-recorder.js";
import { BodyKind } from "./protocol.js";
import { rawHeader } from "./raw-header.js";
import { appendReplicaLogLine, describeRequests } from "./replica-log.js";
import {
  capturingResponder,
  smokeTestFailure,
  smokeTestRequest,
  type SmokeTestOptions,
} from "./smoke-test.js";
import { withTimeout } from "./with-timeout.js";
import { Call, type WorkerLink, type WorkerReadyInfo } from "./worker-link.js";
import {
  type ReplicaExitInfo,
  ReplicaStartError,
  WorkerPool,
  type WorkerPoolOptions,
} from "./worker-pool.js";

export { type ReplicaExitInfo, ReplicaStartError } from "./worker-pool.js";

/** Everything needed to start one replica: its workers (WorkerPoolOptions) and its front. */
export interface ReplicaOptions extends WorkerPoolOptions {
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
  /** Sent to the predictor once every worker loaded it; `ready` waits for it to pass. */
  smokeTest?: SmokeTestOptions;
}

export type ReplicaState = "starting" | "ready" | "draining" | "stopped" | "failed";

const DEFAULT_MAX_BATCH_BYTES = 256 * 1024 * 1024;
const IN_FLIGHT_SAMPLE_MS = 1_000;
const DEFAULT_STOP_GRACE_MS = 10_000;
/** In-flight requests on surviving workers get this long when a sibling worker crashed. */
const FAILED_GRACE_MS = 5_000;
const MAX_REQUEST_ID_CHARS = 512;
/** An idle worker quiet this long (or the timeout, if shorter) is pinged: is it still there? */
const PING_AFTER_MS = 5_000;

/** A running replica; see the module comment. */
/** `debug=true` as a query parameter of the request target. */
const DEBUG_QUERY = /[?&]debug=true(?:&|$)/;

export class Replica {
  readonly id: string;
  /** Resolves when every worker finished `__init__`; rejects with a ReplicaStartError otherwise. */
  readonly ready: Promise<void>;

  readonly #options: ReplicaOptions;
  readonly #pool: WorkerPool;
  readonly #exitListeners: ((info: ReplicaExitInfo) => void)[] = [];
  readonly #drainWaiters: (() => void)[] = [];
  readonly #timeoutMs: number;
  readonly #recorder = new RequestRecorder();
  readonly #sampler = new InFlightSampler();
  #state: ReplicaState = "starting";
  #inFlight = 0;
  /** The grace `stop()` was given, for the message to requests it cut short. */
  #stopGraceMs = 0;
  #wantsMeta = true;
  #batch: Call[] = [];
  #batchBytes = 0;
  #batchTimer: ReturnType<typeof setTimeout> | null = null;
  /** Calls a stuck worker had queued (never started), waiting for a worker to take them. */
  #held: Call[] = [];
  #timers: ReturnType<typeof setInterval>[] = [];
  #shutdown: Promise<void> | null = null;
  #resolveReady: () => void = () => {};
  /** True from the workers' readiness until the smoke test's answer was checked. */
  #smokePending = false;
  #rejectReady: (error: ReplicaStartError) => void = () => {};

  /** Checks the options (the pool its own first) and builds the pool; spawns nothing. */
  private constructor(options: ReplicaOptions) {
    this.#pool = new WorkerPool(options, {
      onReady: (info) => this.#onPoolReady(info),
      onAnswered: (call, status) => this.#answered(call.startedAt, status),
      onWorkerGone: (link, exitText) => this.#answerLostCalls(link, exitText),
      onWorkerAvailable: () => this.#sendHeld(),
      onFailed: (info, startError) => this.#fail(info, startError),
    });
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
    this.id = options.id;
    this.#options = options;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_PREDICTOR_TIMEOUT_MS;
    this.ready = new Promise<void>((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    // Owners that only use onExit must not crash the process with an unhandled rejection.
    this.ready.catch(() => {});
  }

  /**
   * Binds the socket and spawns the workers. Throws (synchronously) only for options that can
   * never work — a socket path too long, no runtime directory; everything else rejects `ready`.
   */
  static start(options: ReplicaOptions): Replica {
    const replica = new Replica(options);
    replica.#pool.start();
    return replica;
  }

  get state(): ReplicaState {
    // Not ready to anyone outside (a health check, a router) until the smoke test passed.
    return this.#smokePending && this.#state === "ready" ? "starting" : this.#state;
  }

  /**
   * True while at least one worker can take a request. A ready replica whose workers all died
   * answers 503 until their replacements load, so routers should send requests elsewhere.
   */
  get hasLiveWorker(): boolean {
    return this.#pool.hasLiveWorker;
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
    return this.#pool.pids();
  }

  /** Predictions tallied since the last call, when the API has `monitoring` (else undefined). */
  drainPredictions(): PredictionTally | undefined {
    return this.#pool.drainPredictions();
  }

  /** Registers a listener called once if a worker dies without being asked to. */
  onExit(listener: (info: ReplicaExitInfo) => void): void {
    this.#exitListeners.push(listener);
  }

  /** Registers a listener called after a dead worker was replaced (so `pids()` changed). */
  onWorkerReplaced(listener: (pids: number[]) => void): void {
    this.#pool.onWorkerReplaced(listener);
  }

  /**
   * Serves one HTTP request (its body already read by the FrontServer): frames it to the
   * least-busy worker, or into the next batch, and answers with the worker's result. Always
   * answers, and always sets `X-Request-ID`.
   */
  serve(request: FrontRequest, responder: Responder, requestId: string): void {
    const startedAt = performance.now();
    if (
      this.#state !== "ready" ||
      this.#smokePending ||
      this.#inFlight >= this.#options.maxConcurrency
    ) {
      this.#refuse(responder, requestId, startedAt, this.#whyRefused());
      return;
    }
    this.#inFlight++;
    this.#accept(request, responder, requestId, startedAt);
  }

  /**
   * Admission from the head for a request whose body is still arriving (a FrontServer's
   * `admitBody`): takes one of the `maxConcurrency` slots for it, so that a body is read only for
   * a request the replica will take, or answers 503 as `serve` would and returns null. The ticket
   * serves the request once its body has arrived — its timeout counting from then: the upload was
   * the client's time, not the predictor's — or gives the slot back if the body never comes.
   */
  admitBody(responder: Responder, requestId: string): BodyTicket | null {
    if (
      this.#state !== "ready" ||
      this.#smokePending ||
      this.#inFlight >= this.#options.maxConcurrency ||
      !this.#pool.hasLiveWorker
    ) {
      this.#refuse(responder, requestId, performance.now(), this.#whyRefused());
      return null;
    }
    this.#inFlight++;
    return {
      deliver: (request, res) => {
        const startedAt = performance.now();
        if (this.#state === "ready") {
          this.#accept(request, res, requestId, startedAt);
        } else {
          this.#refuse(res, requestId, startedAt, this.#whyRefused());
          this.#release();
        }
      },
      cancel: () => this.#release(),
    };
  }

  #whyRefused(): string {
    const apiName = this.#options.apiName;
    if (this.#smokePending) return `replica ${this.id} of ${apiName} is running its smoke test`;
    switch (this.#state) {
      case "starting":
        return `replica ${this.id} of ${apiName} is still starting`;
      case "failed":
        return `replica ${this.id} of ${apiName} has failed`;
      case "draining":
      case "stopped":
        return `replica ${this.id} of ${apiName} is shutting down`;
      case "ready":
        return this.#inFlight >= this.#options.maxConcurrency
          ? `${apiName} is at its limit of ${this.#options.maxConcurrency} concurrent requests per replica; retry shortly`
          : `replica ${this.id} has no live worker`;
    }
  }

  /** Frames an admitted request (its slot already counted) to a worker or into the next batch. */
  #accept(request: FrontRequest, responder: Responder, requestId: string, startedAt: number): void {
    const raw = request.rawHeaders;
    const contentType = rawHeader(raw, "content-type");
    const bodyKind = isJsonContentType(contentType) ? BodyKind.Json : nonJsonBodyKind(contentType);
    let meta: string | null = null;
    // A form's Content-Type (its multipart boundary) reaches the worker in the meta's headers.
    if (this.#wantsMeta || bodyKind === BodyKind.Form) {
      const url = request.url;
      const q = url.indexOf("?");
      meta = JSON.stringify({ query: q >= 0 ? url.slice(q + 1) : "", headers: headerObject(raw) });
    }
    const id =
      requestId.length > MAX_REQUEST_ID_CHARS
        ? requestId.slice(0, MAX_REQUEST_ID_CHARS)
        : requestId;
    const call = new Call(responder, id, startedAt, bodyKind, meta, request.body);
    // `?debug=true` (Cortex 0.14): the payload and the answer go to the log with the request id.
    const url = request.url;
    if (url.length > 10 && url.includes("debug=true") && DEBUG_QUERY.test(url)) call.debug = true;
    this.#admit(call);
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

  /** Every worker loaded the predictor: what requests must carry follows from its signature. */
  #onPoolReady(info: WorkerReadyInfo | null): void {
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
    const smokeTest = this.#options.smokeTest;
    if (smokeTest === undefined) this.#resolveReady();
    else {
      this.#smokePending = true;
      void this.#runSmokeTest(smokeTest);
    }
  }

  /**
   * The smoke test gates `ready`: the replica serves it like any request (its owner routes nothing
   * to a replica before `ready`), and a wrong answer fails the start with what came back.
   */
  async #runSmokeTest(test: SmokeTestOptions): Promise<void> {
    let failure: string | undefined;
    try {
      const { responder, answer } = capturingResponder();
      const request = smokeTestRequest(this.#options.projectDir, test);
      // Past `serve`'s gate, which refuses everyone else until this answer is checked.
      this.#inFlight++;
      this.#accept(request, responder, "axon-smoke-test", performance.now());
      failure = smokeTestFailure(test, await answer);
    } catch (error) {
      failure = `smoke test failed: ${test.payload} could not be sent: ${error instanceof Error ? error.message : String(error)}`;
    }
    this.#smokePending = false;
    if (this.#state !== "ready") return; // stopped or failed meanwhile: `ready` has its answer
    if (failure === undefined) {
      this.#resolveReady();
      return;
    }
    const message = `replica ${this.id} of ${this.#options.apiName}: ${failure}`;
    this.#fail(
      { code: null, signal: null, afterReady: false, workerIndex: -1, message },
      new ReplicaStartError(message, { replicaId: this.id }),
    );
  }

  #startTimers(): void {
    const sample = setInterval(
      () => this.#sampler.add(Date.now(), this.#inFlight),
      IN_FLIGHT_SAMPLE_MS,
    );
    // Checking a few times per timeout keeps 504s close to it at a negligible cost.
    const sweepMs = Math.min(1_000, Math.max(5, Math.floor(this.#timeoutMs / 10)));
    const sweep = setInterval(() => this.#sweep(), sweepMs);
    sample.unref();
    sweep.unref();
    this.#timers = [sample, sweep];
  }

  /** Every few hundredths of the timeout: 504s past it, and stuck workers recycled. */
  #sweep(): void {
    const now = performance.now();
    const deadline = now - this.#timeoutMs;
    const seconds = this.#timeoutMs / 1000;
    const message = (call: Call, where: string): string =>
      `${this.#options.apiName} did not answer request ${call.requestId} within the timeout of ${seconds}s${where}`;
    this.#expireBatch(deadline, (call) => message(call, " (it was waiting for its batch)"));
    this.#expireHeld(deadline, (call) => message(call, " (it was waiting for a worker)"));
    const threads = this.#options.threads;
    for (const link of this.#pool.links) {
      const { started, queued } = link.expire(deadline, (call) => message(call, ""), threads);
      const expired = started.length + queued.length;
      if (expired > 0) {
        // Only requests the worker may have started are "still running"; the others wait their
        // turn behind them (it recycles them if it stays stuck, see #recycle).
        const timedOut = `timed out after ${seconds}s and got 504`;
        if (started.length > 0) {
          const them = started.length === 1 ? "it" : "them";
          const line = `${describeRequests(started)} ${timedOut}; worker ${link.index} is still running ${them}`;
          appendReplicaLogLine(this.#options, "WARNING", line);
        }
        if (queued.length > 0) {
          const line = `${describeRequests(queued)} ${timedOut} while queued at worker ${link.index}, behind requests it is still running`;
          appendReplicaLogLine(this.#options, "WARNING", line);
        }
      }
    }
    const pingAfterMs = Math.min(PING_AFTER_MS, this.#timeoutMs);
    for (const link of this.#pool.links) {
      if (link.usable && link.checkLiveness(now, this.#timeoutMs, pingAfterMs)) {
        this.#recycle(link, seconds);
      }
    }
  }

  /**
   * Gunicorn's `--timeout`: a worker that owed an answer and sent nothing for the timeout (a
   * predict that never returns, a deadlock, SIGSTOP) is killed and replaced. Requests it may have
   * been running get 502 (they are not run twice); the ones queued behind them never started and
   * go to another worker, or wait for the replacement.
   */
  #recycle(link: WorkerLink, seconds: number): void {
    const what = link.inFlight === 0 ? "did not answer a ping" : "sent no answer";
    const { started, queued } = link.takeCalls(this.#options.threads);
    const o = this.#options;
    for (const call of started) {
      writeJsonError(
        call.res,
        502,
        call.requestId,
        `the predictor process of ${o.apiName} was stuck (nothing for ${seconds}s, the timeout) while handling request ${call.requestId} and was replaced; see the API logs`,
      );
      this.#answered(call.startedAt, 502);
    }
    const notes: string[] = [];
    if (started.length > 0) notes.push(`${describeRequests(started)} got 502`);
    if (queued.length > 0) {
      const go = queued.length === 1 ? "goes" : "go";
      notes.push(`${describeRequests(queued)}, queued behind, ${go} to another worker`);
    }
    // The pool logs the kill with this text when the process is gone, and replaces it.
    const detail = notes.length > 0 ? ` (${notes.join("; ")})` : "";
    const description = `${what} for ${seconds}s (the timeout) and was killed${detail}`;
    this.#pool.killStuck(link, description);
    this.#held.push(...queued);
    this.#sendHeld();
  }

  /** Sends held calls (see #recycle) to live workers, in the order they arrived. */
  #sendHeld(): void {
    const held = this.#held;
    const batching = this.#options.batching;
    while (held.length > 0) {
      const link = this.#pool.pickWorker();
      if (link === undefined) return; // the replacement takes them once it is ready
      if (batching == null) link.send(held.shift() as Call);
      else link.sendBatch(held.splice(0, batching.maxBatchSize));
    }
  }

  /** Answers 504 to held calls past the timeout. */
  #expireHeld(deadline: number, message: (call: Call) => string): void {
    const why = "timed out waiting for a replacement of their stuck worker and got 504";
    this.#held = this.#expireWaiting(this.#held, deadline, message, why);
  }

  /** Answers 504 to calls that waited past the timeout for their batch to leave. */
  #expireBatch(deadline: number, message: (call: Call) => string): void {
    const why =
      "timed out waiting for a batch and got 504; batch_interval should be well below the timeout";
    const kept = this.#expireWaiting(this.#batch, deadline, message, why);
    if (kept === this.#batch) return;
    this.#batch = kept;
    this.#batchBytes = kept.reduce((sum, call) => sum + call.body.length, 0);
    if (kept.length === 0 && this.#batchTimer !== null) {
      clearTimeout(this.#batchTimer);
      this.#batchTimer = null;
    }
  }

  /**
   * Answers 504 to the calls of `waiting` (oldest first, none sent to a worker yet) past
   * `deadline` and logs them, `why` completing the sentence; returns the calls still within it,
   * or `waiting` itself when none expired.
   */
  #expireWaiting(
    waiting: Call[],
    deadline: number,
    message: (call: Call) => string,
    why: string,
  ): Call[] {
    if (waiting.length === 0 || (waiting[0] as Call).startedAt > deadline) return waiting;
    const expired = waiting.filter((call) => call.startedAt <= deadline);
    for (const call of expired) {
      writeJsonError(call.res, 504, call.requestId, message(call));
      this.#answered(call.startedAt, 504);
    }
    appendReplicaLogLine(this.#options, "WARNING", `${describeRequests(expired)} ${why}`);
    return waiting.filter((call) => call.startedAt > deadline);
  }

  /** The pool lost a worker: its calls get 502 (the text says whose fault it was). */
  #answerLostCalls(link: WorkerLink, exitText: string): readonly Call[] {
    // A planned stop (rolling update, scale-down, delete) that outlasted its grace is not the
    // predictor's fault: say so rather than blame the process the front itself ended.
    const stopping = this.#state === "draining";
    return link.failPending(502, (requestId) =>
      stopping
        ? `replica ${this.id} of ${this.#options.apiName} was stopped before request ${requestId} finished (a stopping replica gives requests in flight ${this.#stopGraceMs / 1000}s); retry it`
        : `the predictor process of ${this.#options.apiName} ${exitText} while handling request ${requestId}; see the API logs`,
    );
  }

  /**
   * The pool gave up: marks the replica failed, ends the remaining workers, and tells the owner
   * once (rejecting `ready` first when the replica never got there).
   */
  #fail(info: ReplicaExitInfo, startError: ReplicaStartError | null): void {
    if (startError !== null) this.#rejectReady(startError);
    this.#state = "failed";
    this.#shutdown = this.#teardown(FAILED_GRACE_MS);
    for (const listener of this.#exitListeners) listener(info);
  }

  #admit(call: Call): void {
    const batching = this.#options.batching;
    if (batching == null) {
      const link = this.#pool.pickWorker();
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
    const link = this.#pool.pickWorker();
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
    // From here a worker's death is expected: the pool answers its calls but replaces nothing.
    this.#pool.retire();
    if (this.#inFlight > 0 && graceMs > 0) {
      await withTimeout(new Promise<void>((resolve) => this.#drainWaiters.push(resolve)), graceMs);
    }
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    if (this.#batchTimer !== null) clearTimeout(this.#batchTimer);
    this.#batchTimer = null;
    const unsent = [...this.#held, ...this.#batch];
    this.#held = [];
    this.#batch = [];
    this.#batchBytes = 0;
    for (const call of unsent) {
      writeJsonError(call.res, 503, call.requestId, `replica ${this.id} is shutting down`, [
        "retry-after",
        "1",
      ]);
      this.#answered(call.startedAt, 503);
    }
    await this.#pool.close();
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
 * Form bodies (`multipart/form-data`, `application/x-www-form-urlencoded`) reach `predict` as a
 * form object, as in Cortex 0.20; every other non-JSON body as bytes. Only reached for bodies
 * that are not JSON, so JSON requests pay nothing for it.
 */
function nonJsonBodyKind(value: string | undefined): BodyKind {
  if (value === undefined) return BodyKind.Bytes;
  const semicolon = value.indexOf(";");
  const type = (semicolon >= 0 ? value.slice(0, semicolon) : value).trim().toLowerCase();
  return type === "multipart/form-data" || type === "application/x-www-form-urlencoded"
    ? BodyKind.Form
    : BodyKind.Bytes;
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
