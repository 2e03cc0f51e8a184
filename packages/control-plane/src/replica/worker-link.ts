/**
 * The front's view of one Python worker process: its child process, its socket connection, the
 * requests it is answering, and the outgoing frames of the current event-loop turn. WorkerPool
 * owns the process's lifecycle and the front (Replica) decides what to send; this file only moves
 * frames.
 */
import type { ChildProcess } from "node:child_process";
import type { Socket } from "node:net";
import { type Responder, writeJsonError } from "./front-server.js";
import {
  type BodyKind,
  CONTENT_WITH_HEADERS,
  encodeBatchHead,
  encodeRequestHead,
  FrameType,
  PING_FRAME,
  readResponseHeaders,
  RESPONSE_CONTENT_TYPES,
  RESPONSE_HEADER_BYTES,
} from "./protocol.js";
import type { PredictionRecorder } from "./prediction-recorder.js";

/** Frames of one event-loop turn up to this size leave joined in one buffer (one copy). */
const JOIN_LIMIT_BYTES = 1024 * 1024;

/** What a worker said in its READY frame. */
export interface WorkerReadyInfo {
  /** The `predict` arguments the predictor declares, e.g. `["payload"]`. */
  args: string[];
  /** Whether the predictor has `predict_batch` (batches then carry payloads alone). */
  predictBatch: boolean;
  /** The `post_predict` arguments the predictor declares; null when it has no `post_predict`. */
  postPredictArgs: string[] | null;
  loadMs: number;
}

/** What a worker said in its INIT_FAILED frame. */
export interface WorkerInitFailure {
  /** Last line of the traceback, e.g. `ModuleNotFoundError: No module named 'foo'`. */
  error: string;
  traceback: string;
}

/** One admitted request, from the moment its body is read until its response is written. */
export class Call {
  readonly res: Responder;
  readonly requestId: string;
  /** `performance.now()` when the front accepted it; latency and timeouts count from here. */
  readonly startedAt: number;
  readonly bodyKind: BodyKind;
  readonly meta: string | null;
  readonly body: Buffer;
  seq = 0;
  /** The seq of the first call of the BATCH that carried it; 0 when it was sent alone. */
  batch = 0;
  /** `?debug=true`: its payload and answer are logged (capped) with its request id. */
  debug = false;

  constructor(
    res: Responder,
    requestId: string,
    startedAt: number,
    bodyKind: BodyKind,
    meta: string | null,
    body: Buffer,
  ) {
    this.res = res;
    this.requestId = requestId;
    this.startedAt = startedAt;
    this.bodyKind = bodyKind;
    this.meta = meta;
    this.body = body;
  }
}

/** Callbacks into the owning pool (`onAnswered` goes straight on to the front). */
export interface WorkerLinkHooks {
  onReady(link: WorkerLink, info: WorkerReadyInfo): void;
  /** A call sent to this worker was answered with `status` (or failed); fires once per call. */
  onAnswered(call: Call, status: number): void;
  /** A `?debug=true` call was answered by the worker with `status` and `body`. */
  onDebugAnswer?(call: Call, status: number, body: Buffer): void;
}

/** One worker process and its connection. */
export class WorkerLink {
  readonly index: number;
  readonly child: ChildProcess;
  socket: Socket | null = null;
  ready = false;
  readyInfo: WorkerReadyInfo | null = null;
  initFailure: WorkerInitFailure | null = null;
  /** Set once the process has exited (or could not be spawned). */
  exit: { code: number | null; signal: string | null; spawnError?: Error } | null = null;
  /** Resolves when the process has exited or failed to spawn. */
  readonly exited: Promise<void>;
  /** Requests the worker is queued on or running, including ones whose callers timed out. */
  inFlight = 0;
  /** The front killed the process because its connection closed and it did not exit. */
  killedAfterDisconnect = false;
  /** Why the front killed the process as stuck (see `checkLiveness`); null if it did not. */
  killedAsStuck: string | null = null;
  /** Tallies this worker's successful answers when the API has `monitoring` (set by the pool). */
  recorder: PredictionRecorder | undefined;
  /** Frames received from the worker, any type: a stuck worker is one that stops sending them. */
  heard = 0;

  #markExited: () => void = () => {};
  #seq = 0;
  /** Calls waiting for an answer, in the order they were sent (oldest first). */
  readonly #pending = new Map<number, Call>();
  /**
   * Calls answered 504 while the worker still runs (or will run) them, seq → the seq of their
   * batch (0: sent alone), in the order sent; their late answers are dropped.
   */
  readonly #abandoned = new Map<number, number>();
  #out: Buffer[] = [];
  #outBytes = 0;
  #flushScheduled = false;
  #pingOutstanding = false;
  /** What `checkLiveness` saw last: `heard`, whether an answer was owed, and since when quiet. */
  #heardAtCheck = 0;
  #owedAtCheck = false;
  #quietSince = 0;
  readonly #hooks: WorkerLinkHooks;

  constructor(index: number, child: ChildProcess, hooks: WorkerLinkHooks) {
    this.index = index;
    this.child = child;
    this.#hooks = hooks;
    this.exited = new Promise((resolve) => {
      this.#markExited = resolve;
    });
  }

  /** True when requests may be sent to this worker. */
  get usable(): boolean {
    return this.ready && this.exit === null && this.socket !== null;
  }

  /** Records the process's end; returns false if it was already recorded. */
  recordExit(code: number | null, signal: string | null, spawnError?: Error): boolean {
    if (this.exit !== null) return false;
    this.exit = spawnError === undefined ? { code, signal } : { code, signal, spawnError };
    this.#markExited();
    return true;
  }

  /** Frames one request to this worker; the body follows the head. */
  send(call: Call): void {
    this.#track(call);
    this.#queue(
      encodeRequestHead(call.seq, call.bodyKind, call.requestId, call.meta, call.body.length),
    );
    this.#queue(call.body);
  }

  /** Frames several requests as one BATCH: the worker calls `predict_batch` once for all. */
  sendBatch(calls: readonly Call[]): void {
    const heads: Buffer[] = [];
    let bytes = 0;
    for (const call of calls) {
      this.#track(call);
      const head = encodeRequestHead(
        call.seq,
        call.bodyKind,
        call.requestId,
        call.meta,
        call.body.length,
      );
      heads.push(head);
      bytes += head.length + call.body.length;
    }
    const batch = (calls[0] as Call).seq;
    for (const call of calls) call.batch = batch;
    this.#queue(encodeBatchHead(calls.length, bytes));
    for (let i = 0; i < calls.length; i++) {
      this.#queue(heads[i] as Buffer);
      this.#queue((calls[i] as Call).body);
    }
  }

  #track(call: Call): void {
    this.#seq = (this.#seq + 1) >>> 0;
    call.seq = this.#seq;
    this.#pending.set(this.#seq, call);
    this.inFlight++;
  }

  /**
   * Answers 504 to every call older than `deadline` (a `performance.now()` value) and returns
   * them, split as `startedOrQueued` does. The worker keeps running (or will run) them, so they
   * stay counted in `inFlight` until it answers.
   */
  expire(
    deadline: number,
    message: (call: Call) => string,
    threads: number,
  ): { started: Call[]; queued: Call[] } {
    const started: Call[] = [];
    const queued: Call[] = [];
    const oldest = this.#pending.values().next().value;
    if (oldest === undefined || oldest.startedAt > deadline) return { started, queued };
    const startedSeqs = this.#startedSeqs(threads);
    for (const [seq, call] of this.#pending) {
      if (call.startedAt > deadline) break; // sent in order: the rest are younger
      this.#pending.delete(seq);
      this.#abandoned.set(seq, call.batch);
      writeJsonError(call.res, 504, call.requestId, message(call));
      this.#hooks.onAnswered(call, 504);
      (startedSeqs.has(seq) ? started : queued).push(call);
    }
    return { started, queued };
  }

  /**
   * The seqs the worker may be running now. It starts requests in the order they were sent: one
   * at a time on its receiving loop (`threads` 1), on `threads` predict threads, and batches one
   * at a time whatever `threads` is. So the first `threads` unanswered requests (those answered
   * 504 included) may have started, or the first batch; everything after them is still queued.
   */
  #startedSeqs(threads: number): Set<number> {
    const started = new Set<number>();
    let firstBatch = -1;
    let slots = threads;
    const consider = (seq: number, batch: number): boolean => {
      if (batch !== 0) {
        if (firstBatch === -1) firstBatch = batch;
        if (batch !== firstBatch) return false;
      } else if (slots-- <= 0) {
        return false;
      }
      started.add(seq);
      return true;
    };
    for (const [seq, batch] of this.#abandoned) if (!consider(seq, batch)) return started;
    for (const [seq, call] of this.#pending) if (!consider(seq, call.batch)) return started;
    return started;
  }

  /**
   * The liveness check the front's sweep makes (gunicorn's `--timeout`, by what the worker
   * sends rather than by a heartbeat of its own): true when the worker owes an answer — to a
   * request, or to a PING — and has sent no frame at all for longer than `timeoutMs`. A worker
   * that owes nothing and has been quiet for `pingAfterMs` gets a PING, so one that stopped
   * answering while idle is found as well. `now` is `performance.now()`.
   */
  checkLiveness(now: number, timeoutMs: number, pingAfterMs: number): boolean {
    const owes = this.inFlight > 0 || this.#pingOutstanding;
    if (this.heard !== this.#heardAtCheck || (owes && !this.#owedAtCheck)) {
      this.#heardAtCheck = this.heard;
      this.#quietSince = now;
    }
    this.#owedAtCheck = owes;
    if (owes) return now - this.#quietSince > timeoutMs;
    if (now - this.#quietSince >= pingAfterMs) {
      this.#pingOutstanding = true;
      this.#queue(PING_FRAME);
    }
    return false;
  }

  /**
   * The worker is about to be killed as stuck: takes every call still waiting on it, split into
   * those it may have started (see `#startedSeqs`) and those only queued, and sends it nothing
   * more. Calls already answered 504 are not returned.
   */
  takeCalls(threads: number): { started: Call[]; queued: Call[] } {
    const startedSeqs = this.#startedSeqs(threads);
    const started: Call[] = [];
    const queued: Call[] = [];
    for (const [seq, call] of this.#pending) (startedSeqs.has(seq) ? started : queued).push(call);
    this.ready = false; // no longer `usable`: nothing more is sent to it
    this.#pending.clear();
    this.#abandoned.clear();
    this.inFlight = 0;
    this.#out = [];
    this.#outBytes = 0;
    return { started, queued };
  }

  /** Handles one frame from the worker (after HELLO). */
  onFrame(buffer: Buffer, start: number, end: number): void {
    this.heard++;
    const type = buffer[start];
    if (type === FrameType.Response) {
      this.#onResponse(buffer, start, end);
    } else if (type === FrameType.Pong) {
      this.#pingOutstanding = false;
    } else if (type === FrameType.Ready) {
      const info = JSON.parse(buffer.toString("utf8", start + 1, end)) as {
        args?: unknown;
        predict_batch?: unknown;
        post_predict_args?: unknown;
        load_ms?: unknown;
      };
      const args = Array.isArray(info.args) ? info.args.map(String) : ["payload"];
      const postPredictArgs = Array.isArray(info.post_predict_args)
        ? info.post_predict_args.map(String)
        : null;
      const loadMs = typeof info.load_ms === "number" ? info.load_ms : 0;
      this.readyInfo = { args, predictBatch: info.predict_batch === true, postPredictArgs, loadMs };
      this.ready = true;
      this.#hooks.onReady(this, this.readyInfo);
    } else if (type === FrameType.InitFailed) {
      const info = JSON.parse(buffer.toString("utf8", start + 1, end)) as {
        error?: unknown;
        traceback?: unknown;
      };
      this.initFailure = {
        error: typeof info.error === "string" ? info.error : "",
        traceback: typeof info.traceback === "string" ? info.traceback : "",
      };
    }
    // Unknown frame types are ignored so a newer worker can add informational frames.
  }

  /**
   * Answers every call still waiting on this worker with an error (the worker is gone); returns
   * those calls.
   */
  failPending(status: number, message: (requestId: string) => string): Call[] {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    this.#abandoned.clear();
    this.inFlight = 0;
    this.#out = [];
    this.#outBytes = 0;
    for (const call of pending) {
      writeJsonError(call.res, status, call.requestId, message(call.requestId));
      this.#hooks.onAnswered(call, status);
    }
    return pending;
  }

  #onResponse(buffer: Buffer, start: number, end: number): void {
    const seq = buffer.readUInt32BE(start + 1);
    const call = this.#pending.get(seq);
    if (call === undefined) {
      if (this.#abandoned.delete(seq)) this.inFlight--;
      return;
    }
    this.#pending.delete(seq);
    this.inFlight--;
    const status = buffer.readUInt16BE(start + 5);
    const kind = buffer[start + 7] ?? 2;
    if (kind === CONTENT_WITH_HEADERS) {
      this.#hooks.onAnswered(call, this.#sendResponseObject(call, status, buffer, start, end));
      return;
    }
    const body = buffer.subarray(start + RESPONSE_HEADER_BYTES - 4, end);
    call.res.send(
      status,
      [
        "content-type",
        RESPONSE_CONTENT_TYPES[kind] ?? "application/octet-stream",
        "x-request-id",
        call.requestId,
      ],
      body,
    );
    const recorder = this.recorder;
    if (recorder !== undefined && status < 300) recorder.recordBody(body, kind === 0);
    if (call.debug) this.#hooks.onDebugAnswer?.(call, status, body);
    this.#hooks.onAnswered(call, status);
  }

  /**
   * Sends a response object's status, headers and body; returns the status sent. This runs in the
   * socket's data callback, where a throw would lose every other answer of the chunk: anything
   * the HTTP side cannot send (the worker checks first, so only a runtime bug gets here) is a 500.
   */
  #sendResponseObject(
    call: Call,
    status: number,
    buffer: Buffer,
    start: number,
    end: number,
  ): number {
    try {
      if (status < 200 || status > 599) throw new Error(`the status ${status} is not 200-599`);
      const { headers, bodyStart } = readResponseHeaders(buffer, start, end);
      headers.push("x-request-id", call.requestId);
      call.res.send(status, headers, buffer.subarray(bodyStart, end));
      return status;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      writeJsonError(
        call.res,
        500,
        call.requestId,
        `the worker answered request ${call.requestId} with a response the front cannot send: ${reason}`,
      );
      return 500;
    }
  }

  // Frames queued during one event-loop turn leave in one write: setImmediate runs after every
  // I/O callback of the current poll phase, so requests parsed together travel together.
  #queue(buffer: Buffer): void {
    this.#out.push(buffer);
    this.#outBytes += buffer.length;
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(this.#flush);
    }
  }

  readonly #flush = (): void => {
    this.#flushScheduled = false;
    const out = this.#out;
    const socket = this.socket;
    if (out.length === 0 || socket === null || socket.destroyed) return;
    this.#out = [];
    if (this.#outBytes > JOIN_LIMIT_BYTES) {
      // Large bodies are written as they are (one writev), not copied into a joined buffer that
      // would hold every byte twice until the worker has read them.
      socket.cork();
      for (const buffer of out) socket.write(buffer);
      socket.uncork();
    } else {
      socket.write(out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out, this.#outBytes));
    }
    this.#outBytes = 0;
  };
}
