/**
 * Batch jobs (`kind: BatchAPI`, issue 32): Cortex 0.20's job shapes, kept in its snake_case so a
 * Cortex client's `POST <endpoint>` / `GET <endpoint>/<job_id>` code keeps working
 * (cortexlabs/cortex:v0.20.0 docs/deployments/batch-api/endpoints.md, reference/cortex.md), plus
 * the fields Axon adds (retries, items, rate, ETA, failures), all optional for a Cortex reader.
 *
 * The control API (what `axon submit|get|logs|delete` use, on every engine):
 *
 *   GET    /v1/apis/:name/jobs                   → BatchJobList (newest first)
 *   POST   /v1/apis/:name/jobs                   ← BatchJobSubmission → BatchJobSpec
 *   GET    /v1/apis/:name/jobs/:id               → BatchJobResponse
 *   DELETE /v1/apis/:name/jobs/:id               → BatchJobStopped
 *   GET    /v1/apis/:name/jobs/:id/logs?follow=1 → text/plain, chunked: the job's workers' lines
 *
 * The data plane (Cortex's, on the API's own endpoint, where the engine serves one — locally the
 * gateway): `POST <endpoint>` submits, `GET <endpoint>/<job_id>` and `GET <endpoint>?jobID=<id>`
 * answer a BatchJobResponse, `DELETE <endpoint>/<job_id>` (or `?jobID=`) stops.
 */

/** Cortex 0.20's job statuses (pkg/types/status/job_status.go), as the API answers them. */
export type BatchJobStatusCode =
  | "status_unknown"
  | "status_enqueuing"
  | "status_running"
  | "status_enqueue_failed"
  | "status_completed_with_failures"
  | "status_succeeded"
  | "status_unexpected_error"
  | "status_worker_error"
  | "status_worker_oom"
  | "status_stopped";

/** Items split into batches of `batch_size`. */
export interface BatchItemList {
  items: unknown[];
  batch_size: number;
}

/** S3 objects (`s3://bucket/prefix` paths, filtered by glob) handed to `predict` as paths. */
export interface BatchFilePathLister {
  s3_paths: string[];
  includes?: string[];
  excludes?: string[];
  batch_size: number;
}

/** Newline-delimited JSON files in S3, split into batches of `batch_size` objects. */
export type BatchDelimitedFiles = BatchFilePathLister;

/** What `POST <endpoint>` / `POST /v1/apis/:name/jobs` takes: exactly one item source. */
export interface BatchJobSubmission {
  /** Worker processes (locally) or Fargate tasks (ECS) running the job at once. */
  workers: number;
  item_list?: BatchItemList;
  file_path_lister?: BatchFilePathLister;
  delimited_files?: BatchDelimitedFiles;
  /** Merged over the API's `predictor.config` (the job's keys win) and given to `__init__`. */
  config?: Record<string, unknown>;
  /** Axon: times a failed batch is tried again before it is recorded as failed (default 1). */
  max_retries?: number;
  /** Axon: seconds one batch may take before it is given to another worker (default 600). */
  timeout?: number;
}

/** Cortex's answer to a submission (and the `job_spec` given to the predictor's `__init__`). */
export interface BatchJobSpec {
  job_id: string;
  api_name: string;
  workers: number;
  config: Record<string, unknown>;
  api_id: string;
  /** ECS: the job's queue; locally null (the queue is a table of the state database). */
  sqs_url: string | null;
  created_time: string;
  /** Batches the items were split into (known once enqueued). */
  total_batch_count?: number;
  max_retries?: number;
  timeout?: number;
}

export interface BatchWorkerCounts {
  pending: number;
  initializing: number;
  running: number;
  succeeded: number;
  failed: number;
  stalled: number;
}

/** A batch recorded as failed after its retries, with why. */
export interface BatchFailure {
  batch_id: string;
  attempts: number;
  error: string;
}

export interface BatchJobStatus extends BatchJobSpec {
  status: BatchJobStatusCode;
  batches_in_queue: number;
  batch_metrics: {
    succeeded: number;
    failed: number;
    /** Seconds, over the batches done so far. */
    avg_time_per_batch?: number;
  };
  worker_counts: BatchWorkerCounts;
  start_time?: string;
  end_time?: string;
  /** Axon: batches given to a worker now (leased, not yet done). */
  batches_in_progress?: number;
  /** Axon: attempts that failed and were put back in the queue. */
  batches_retried?: number;
  /** Axon: items done per second over the last minute (absent before the first batch). */
  items_per_second?: number;
  /** Axon: seconds until the queue drains at that rate (absent when unknown). */
  eta_seconds?: number;
  /** Axon: why the job ended as it did, when not `status_succeeded` (an empty S3 listing, a crash). */
  status_message?: string;
  /** Axon: the first failed batches (at most 20), with their errors. */
  failures?: BatchFailure[];
}

/** `GET <endpoint>/<job_id>`: Cortex's envelope. */
export interface BatchJobResponse {
  job_status: BatchJobStatus;
  endpoint: string;
}

export interface BatchJobList {
  api: string;
  endpoint: string;
  jobs: BatchJobStatus[];
}

export interface BatchJobStopped {
  /** Cortex's words: `stopped job <job_id>`. */
  message: string;
}
