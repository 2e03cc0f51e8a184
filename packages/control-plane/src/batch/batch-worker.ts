/**
 * The batch worker loop (issue 32), the same on both engines: lease a batch from a `BatchSource`,
 * hand it to the predictor, settle it; until the source has nothing left. Locally the daemon runs
 * one loop per worker process of a job; on ECS the container's entrypoint runs one in batch mode.
 *
 * What the loop promises: a batch is settled only by the loop that leased it, exactly once —
 * `succeed` when predict returned, `fail` (with its error) when predict raised, `release` when the
 * worker process died holding it (it is visible again at once; its delivery stays counted). A loop
 * whose worker died does not lease again until the worker is back; one whose worker cannot come
 * back ends, and says so.
 */
import type { BatchSource, LeasedBatch } from "./batch-source.js";

/** How one batch went in the predictor. */
export type BatchResult =
  | { kind: "succeeded" }
  | { kind: "raised"; error: string }
  /** The worker process ended while it held the batch (`reason`: how, e.g. killed by SIGKILL). */
  | { kind: "worker_gone"; reason: string };

/**
 * The Python side of one batch worker: one process running the predictor in batch mode
 * (`python-batch-worker.ts` locally, over the realtime worker's pool and protocol).
 */
export interface BatchPredictor {
  /**
   * Resolves once a worker process is ready to take a batch (`__init__` returned): at once when it
   * is, after a replacement started when the last one died. Rejects when none can come back (its
   * `__init__` raised, or it died too often): the loop then ends.
   */
  ready(): Promise<void>;
  /** Runs `predict(payload, batch_id)` once. */
  predict(batchId: string, payload: unknown[]): Promise<BatchResult>;
  /** Runs `on_job_complete()` if the predictor has one. */
  jobComplete(): Promise<BatchResult>;
}

/** How a loop ended. */
export interface BatchWorkerSummary {
  succeeded: number;
  failed: number;
  /** Batches handed back because the worker died holding them. */
  released: number;
  /** Why the loop ended before the source was drained (its worker could not run); absent: drained. */
  error?: string;
  /** Whether this loop ran `on_job_complete` (one loop of a job does). */
  ranJobComplete: boolean;
}

export interface BatchWorkerOptions {
  source: BatchSource;
  predictor: BatchPredictor;
  /** Aborted to stop the loop (the job was stopped, the daemon stops): no new lease is taken. */
  signal: AbortSignal;
  /** Milliseconds now (for each batch's seconds). */
  now?: () => number;
  /** Told every settled batch and the job's end, for the job's log. */
  onEvent?: (event: BatchWorkerEvent) => void;
}

export type BatchWorkerEvent =
  | { kind: "batch.done"; batch: LeasedBatch; result: BatchResult; seconds: number }
  | { kind: "job_complete.ran"; result: BatchResult };

/** Runs the loop until the source is drained, the signal aborts, or the worker cannot run. */
export async function runBatchWorker(options: BatchWorkerOptions): Promise<BatchWorkerSummary> {
  const { source, predictor, signal } = options;
  const now = options.now ?? (() => performance.now());
  const tell = options.onEvent ?? ((): void => {});
  const summary: BatchWorkerSummary = {
    succeeded: 0,
    failed: 0,
    released: 0,
    ranJobComplete: false,
  };
  for (;;) {
    if (signal.aborted) return summary;
    try {
      await predictor.ready();
    } catch (error) {
      if (signal.aborted) return summary;
      return { ...summary, error: error instanceof Error ? error.message : String(error) };
    }
    if (signal.aborted) return summary;
    let batch: LeasedBatch | null;
    try {
      batch = await source.lease(signal);
    } catch (error) {
      if (signal.aborted) return summary;
      throw error;
    }
    if (batch === null) break;
    const started = now();
    const result = await predictor.predict(batch.batchId, batch.payload);
    const seconds = (now() - started) / 1000;
    // Settled even when the signal aborted meanwhile: the predictor's work is done and recorded.
    if (result.kind === "succeeded") {
      await source.succeed(batch, seconds);
      summary.succeeded += 1;
    } else if (result.kind === "raised") {
      await source.fail(batch, result.error);
      summary.failed += 1;
    } else {
      // No answer is not an answer: the batch goes back (at once where the source can).
      await source.release(batch, result.reason);
      summary.released += 1;
    }
    tell({ kind: "batch.done", batch, result, seconds });
  }
  // Cortex ran on_job_complete once per job, on the worker that found the queue drained last.
  if (await source.claimJobComplete()) {
    const result = await predictor.jobComplete();
    summary.ranJobComplete = true;
    tell({ kind: "job_complete.ran", result });
  }
  return summary;
}
