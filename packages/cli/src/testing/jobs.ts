/**
 * Test fixtures: batch jobs as an engine answers them (the `contract/batch.ts` shapes, which are
 * the contract between the control plane and the CLI, not a mock of either).
 */
import type { BatchJobStatus } from "@axon/control-plane/api";

/** A job 5 minutes into 1,000 batches at 19:10 UTC: 340 succeeded, 2 failed, 654 queued. */
export function makeRunningJob(overrides: Partial<BatchJobStatus> = {}): BatchJobStatus {
  return {
    job_id: "69d6faf8a4",
    api_name: "image-classifier",
    workers: 2,
    config: {},
    api_id: "a1b2c3",
    sqs_url: null,
    created_time: "2026-12-07T19:04:55Z",
    start_time: "2026-12-07T19:05:00Z",
    total_batch_count: 1000,
    max_retries: 1,
    timeout: 600,
    status: "status_running",
    batches_in_queue: 654,
    batches_in_progress: 4,
    batches_retried: 3,
    batch_metrics: { succeeded: 340, failed: 2, avg_time_per_batch: 1.5 },
    worker_counts: { pending: 0, initializing: 0, running: 2, succeeded: 0, failed: 0, stalled: 0 },
    items_per_second: 56.7,
    eta_seconds: 577,
    ...overrides,
  };
}

/** A job of 10 batches that succeeded in 8m12s, an hour before 19:10 UTC. */
export function makeFinishedJob(overrides: Partial<BatchJobStatus> = {}): BatchJobStatus {
  // An ended job has no rate or ETA any more.
  const { items_per_second: _rate, eta_seconds: _eta, ...running } = makeRunningJob();
  return {
    ...running,
    job_id: "0f3e9b21c7",
    status: "status_succeeded",
    created_time: "2026-12-07T18:00:00Z",
    start_time: "2026-12-07T18:00:01Z",
    end_time: "2026-12-07T18:08:13Z",
    total_batch_count: 10,
    batches_in_queue: 0,
    batches_in_progress: 0,
    batch_metrics: { succeeded: 10, failed: 0 },
    worker_counts: { pending: 0, initializing: 0, running: 0, succeeded: 2, failed: 0, stalled: 0 },
    ...overrides,
  };
}
