/**
 * Where a batch worker gets its batches (issue 32): the one seam between the worker loop, which is
 * the same code on both engines (locally hosted by the daemon, on ECS by the container's
 * entrypoint in batch mode), and the queue that holds a job's batches — a table of the state
 * database locally, the job's SQS queue on ECS.
 *
 * A lease is SQS's visibility timeout: a batch given to a worker is invisible to the others until
 * it is settled or its lease runs out, and a worker that dies (kill -9) settles nothing, so its
 * batch comes back. Settling is idempotent per lease: a batch's outcome is recorded once, by the
 * holder of its current lease; a late answer from a lease that ran out is dropped.
 */

/** One batch handed to one worker. */
export interface LeasedBatch {
  /** Stable across retries (what `predict(payload, batch_id)` gets). */
  batchId: string;
  /** The batch's items (item_list), S3 paths (file_path_lister) or parsed lines (delimited_files). */
  payload: unknown[];
  /** 1 on the first delivery, 2 on the first retry, … */
  attempt: number;
  /** Identifies this delivery; a settle with an expired lease is ignored. */
  leaseId: string;
}

export interface BatchSource {
  /**
   * The next batch, leased for the job's timeout; `null` once the job has no batch left to give
   * (all settled, or the job was stopped). Waits while every remaining batch is leased by others.
   */
  lease(signal: AbortSignal): Promise<LeasedBatch | null>;
  /** The batch is done: it is never given out again. */
  succeed(batch: LeasedBatch, seconds: number): Promise<void>;
  /**
   * The batch raised: it goes back to the queue while it has retries left (`max_retries`), else it
   * is recorded as failed with `error`.
   */
  fail(batch: LeasedBatch, error: string): Promise<void>;
  /**
   * The worker holding `batch` died (kill -9, a crash): the batch is visible again now rather
   * than when its lease runs out (SQS: ChangeMessageVisibility to 0). The delivery stays counted.
   */
  release(batch: LeasedBatch, reason: string): Promise<void>;
  /**
   * True for exactly one worker of the job, once every batch is settled: that worker runs the
   * predictor's `on_job_complete` (Cortex ran it on one worker).
   */
  claimJobComplete(): Promise<boolean>;
}
