/**
 * One batch worker's Python process (issue 32): the realtime replica's `WorkerPool` with one
 * process of one thread, started in batch mode (`AXON_WORKER_MODE=batch`, the job's spec in
 * `AXON_JOB_SPEC`; packages/runtime-python/axon_runtime/batch.py), spoken to with the same
 * REQUEST/RESPONSE frames. Nothing here spawns: the pool does, with the launcher (sandbox, cgroup)
 * its owner gives it, so a batch worker starts exactly as a replica's worker does.
 *
 * The pool replaces a worker that dies (up to 3 a minute, then gives up): a batch it held answers
 * `worker_gone` here, and `ready()` waits for the replacement.
 */
import { BodyKind } from "../replica/protocol.js";
import type { Responder } from "../replica/front-server.js";
import { Call } from "../replica/worker-link.js";
import { WorkerPool, type WorkerPoolOptions } from "../replica/worker-pool.js";
import type { BatchPredictor, BatchResult } from "./batch-worker.js";

/** What a batch worker starts with (the pool's options but the counts, fixed at one). */
export interface PythonBatchWorkerOptions extends Omit<
  WorkerPoolOptions,
  "processes" | "threads" | "config" | "monitoring"
> {
  /** The API's `predictor.config` merged with the job's `config` (the job's keys win). */
  config: Record<string, unknown>;
  /** Cortex's `job_spec`, given to `__init__`. */
  jobSpec: Record<string, unknown>;
  /** A batch running longer is taken from its worker (killed, replaced): the job's timeout. */
  batchTimeoutMs: number;
}

/** The status a batch answer carries when its worker was gone (see `failPending`). */
const WORKER_GONE_STATUS = 502;

export class PythonBatchWorker implements BatchPredictor {
  readonly #pool: WorkerPool;
  readonly #timeoutMs: number;
  #failure: Error | undefined;
  #waiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  #requests = 0;

  constructor(options: PythonBatchWorkerOptions) {
    const { jobSpec, batchTimeoutMs, ...pool } = options;
    this.#timeoutMs = batchTimeoutMs;
    this.#pool = new WorkerPool(
      {
        ...pool,
        processes: 1,
        threads: 1,
        env: {
          ...pool.env,
          // AXON_ names are reserved (predictor.env cannot set them): these are the runtime's.
          AXON_WORKER_MODE: "batch",
          AXON_JOB_SPEC: JSON.stringify(jobSpec),
        },
      },
      {
        onReady: () => this.#wake(),
        onWorkerAvailable: () => this.#wake(),
        onAnswered: () => {},
        onWorkerGone: (link, exitText) =>
          link.failPending(WORKER_GONE_STATUS, () => `the batch worker ${exitText}`),
        onFailed: (info, startError) => {
          this.#failure = startError ?? new Error(info.message);
          for (const waiter of this.#waiters.splice(0)) waiter.reject(this.#failure);
          void this.#pool.close();
        },
      },
    );
  }

  /** Spawns the process; throws only for options that can never work (see `WorkerPool.start`). */
  start(): void {
    this.#pool.start();
  }

  /** The worker's process ids (to record for orphan cleanup after a daemon crash). */
  pids(): number[] {
    return this.#pool.pids();
  }

  /** Called with the new PIDs after the pool replaced a dead worker. */
  onWorkerReplaced(listener: (pids: number[]) => void): void {
    this.#pool.onWorkerReplaced(listener);
  }

  ready(): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (this.#pool.links[0]?.usable === true) return Promise.resolve();
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  predict(batchId: string, payload: unknown[]): Promise<BatchResult> {
    return this.#send(JSON.stringify({ batch_id: batchId, payload }), batchId);
  }

  jobComplete(): Promise<BatchResult> {
    return this.#send('{"on_job_complete":true}', "on_job_complete");
  }

  /** Ends the process (SIGTERM, then SIGKILL after 3 s); `ready()` rejects from now on. */
  close(): Promise<void> {
    this.#failure ??= new Error("the batch worker was stopped");
    for (const waiter of this.#waiters.splice(0)) waiter.reject(this.#failure);
    return this.#pool.close();
  }

  #wake(): void {
    for (const waiter of this.#waiters.splice(0)) waiter.resolve();
  }

  #send(body: string, label: string): Promise<BatchResult> {
    const link = this.#pool.links[0];
    if (link === undefined || !link.usable) {
      return Promise.resolve({ kind: "worker_gone", reason: "the batch worker is not running" });
    }
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const responder: Responder & { done: boolean } = {
        done: false,
        send: (status, _headers, answer) => {
          if (responder.done) return;
          responder.done = true;
          clearTimeout(timer);
          resolve(toResult(status, answer));
        },
      };
      this.#requests += 1;
      const call = new Call(
        responder,
        `${label}#${this.#requests}`,
        performance.now(),
        BodyKind.Json,
        null,
        Buffer.from(body),
      );
      timer = setTimeout(() => {
        // Stuck (or just slow) past the job's timeout: its lease has run out and the batch may be
        // another worker's now; this process is replaced and the answer is `worker_gone`.
        this.#pool.killStuck(
          link,
          `took longer than the job's timeout (${this.#timeoutMs / 1000}s) on ${label} and was killed`,
        );
      }, this.#timeoutMs);
      timer.unref();
      link.send(call);
    });
  }
}

/** A RESPONSE as a batch's outcome: 200 done, 5xx from the runtime raised, 502 worker gone. */
function toResult(status: number, answer: Buffer | string): BatchResult {
  const text = typeof answer === "string" ? answer : answer.toString("utf8");
  if (status === 200) return { kind: "succeeded" };
  let error = text;
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed.error === "string") error = parsed.error;
  } catch {
    // not JSON: the text as it came
  }
  if (status === WORKER_GONE_STATUS) return { kind: "worker_gone", reason: error };
  return { kind: "raised", error };
}
