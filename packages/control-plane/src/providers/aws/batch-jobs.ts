/**
 * A BatchAPI's jobs on ECS (issue 32, decision 0009: the account is the record). The API itself
 * is a task definition (`batch-api.ts`); a job is its queues (`batch-queue.ts`), its workers
 * (`batch-workers.ts`) and its status object (`batch-records.ts`); its log is `batch-logs.ts`.
 *
 * - Submit makes the job's queue and dead-letter queue (`batch-queue.ts`), writes the job's status
 *   object `jobs/<api>/<job_id>.json` in the cluster bucket, sends every batch, then starts
 *   `workers` Fargate tasks with RunTask (`startedBy` the job, tagged with the API and job, the
 *   services' network configuration), each given the queue and the job's spec in its environment.
 * - Describe derives the status from the queues' counts (queued, in flight, dead-lettered) and the
 *   tasks (DescribeTasks of the job's tasks, ListTasks by `startedBy`). A job whose workers have all
 *   stopped has ended: its status is frozen into the status object, its queues are deleted. Nothing
 *   runs in the background (0009): a job ends in the account by itself (its workers exit when the
 *   queue is drained) and its record is settled by the next read of it.
 * - Stop stops the tasks, deletes the queues and records `status_stopped`.
 * - Delete of the API stops every job and removes its queues and status objects; `api-delete.ts`
 *   then removes the task definitions and the bundle.
 *
 * The succeeded count is derived, not counted: `total - queued - in flight - dead-lettered`. SQS's
 * counts are approximate for about a minute after a change
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_GetQueueAttributes.html:
 * "ApproximateNumberOfMessages … reflects the approximate number of messages available"), which is
 * why a job is settled only once its workers have stopped, never on a count alone.
 */
import type {
  BatchApiSummary,
  BatchJobList,
  BatchJobResponse,
  BatchJobSpec,
  BatchJobStatus,
  BatchJobStatusCode,
  BatchJobStopped,
  BatchJobSubmission,
} from "../../contract/index.js";
import { DomainError, JOB_INVALID } from "../../errors.js";
import { s3ItemBatches } from "./s3-items.js";
import { isAwsError } from "./api-deploy.js";
import type { EcsApiDeps } from "./api-names.js";
import { apiTags } from "./api-task-definition.js";
import { batchApiNames, requireBatchApi } from "./batch-api.js";
import {
  DEAD_LETTER_SUFFIX,
  MAX_ECS_WORKERS,
  MAX_MAX_RECEIVE_COUNT,
  MAX_VISIBILITY_TIMEOUT_SECONDS,
  BATCH_TAGS,
  jobQueueNames,
  jobQueuePrefix,
  jobRecordPrefix,
  newJobId,
} from "./batch-names.js";
import {
  createJobQueues,
  deleteQueues,
  enqueueBatches,
  listQueueUrls,
  queueCounts,
  type QueueCounts,
} from "./batch-queue.js";
import {
  jobNotFound,
  listJobIds,
  listKeys,
  readFailures,
  readRecord,
  writeRecord,
  type EcsJobRecord,
} from "./batch-records.js";
import {
  describeJobTasks,
  jobTaskArns,
  startWorkers,
  stopTasks,
  stoppedReasons,
  workerCounts,
  workerOverrides,
} from "./batch-workers.js";
import { callAws } from "./cluster-stack.js";

export type { EcsJobRecord } from "./batch-records.js";

/** RunTask started none of the job's workers (503): the job is recorded as failed. */
export const BATCH_WORKERS_NOT_STARTED = "batch.workers_not_started";

/** A job with more batches than ECS's submission sends (400): raise batch_size. */
export const BATCH_TOO_MANY_BATCHES = "batch.too_many_batches";
/**
 * Batches one job may have on ECS: 100,000 messages are 10,000 SendMessageBatch calls, a few
 * minutes of the submission's 15 (`SUBMIT_MS` in ecs-engine.ts).
 */
export const MAX_ECS_BATCHES = 100_000;

/** Axon's defaults (contract/batch.ts): one retry, ten minutes per batch. */
export const DEFAULT_MAX_RETRIES = 1;
export const DEFAULT_BATCH_TIMEOUT_SECONDS = 600;
/** A job still enqueuing after this long was interrupted (the daemon died mid-submission). */
const ENQUEUE_ABANDONED_MS = 15 * 60_000;

/** Statuses a job is still live in: the record is refreshed from the account on every read. */
const LIVE: ReadonlySet<BatchJobStatusCode> = new Set(["status_enqueuing", "status_running"]);

// ---- submit -------------------------------------------------------------------------------------

/**
 * What ECS adds to the bounds of a submission, before any AWS call: 400 naming the field. The
 * submission was read by the engine with `validateSubmission` (batch/job-submission.ts), the same
 * reading as the local engine's (one item source, batch sizes, items); these are the bounds of the
 * AWS resources a job becomes — its queue's visibility timeout and maxReceiveCount (R16), its
 * Fargate tasks, the batches one submission can send.
 */
export function checkEcsSubmission(submission: BatchJobSubmission): void {
  const refuse = (field: string, what: string, hint: string): never => {
    throw new DomainError(JOB_INVALID, `${field} ${what}`, { status: 400, hint });
  };
  const { workers } = submission;
  if (!Number.isInteger(workers) || workers < 1 || workers > MAX_ECS_WORKERS) {
    refuse(
      "workers",
      `is ${String(workers)}: a job on ECS runs 1 to ${MAX_ECS_WORKERS} Fargate tasks`,
      `set workers between 1 and ${MAX_ECS_WORKERS}`,
    );
  }
  const retries = submission.max_retries ?? DEFAULT_MAX_RETRIES;
  if (!Number.isInteger(retries) || retries < 0 || retries + 1 > MAX_MAX_RECEIVE_COUNT) {
    refuse(
      "max_retries",
      `is ${String(retries)}: SQS redelivers a batch at most ${MAX_MAX_RECEIVE_COUNT} times (maxReceiveCount), so max_retries is 0 to ${MAX_MAX_RECEIVE_COUNT - 1}`,
      "set max_retries between 0 and 999",
    );
  }
  const timeout = submission.timeout ?? DEFAULT_BATCH_TIMEOUT_SECONDS;
  if (!Number.isInteger(timeout) || timeout < 1 || timeout > MAX_VISIBILITY_TIMEOUT_SECONDS) {
    refuse(
      "timeout",
      `is ${String(timeout)}: a batch's lease is the queue's visibility timeout, 1 to ${MAX_VISIBILITY_TIMEOUT_SECONDS} seconds (12 hours) on SQS`,
      "set timeout (seconds per batch) between 1 and 43200",
    );
  }
  const list = submission.item_list;
  if (list !== undefined && Math.ceil(list.items.length / list.batch_size) > MAX_ECS_BATCHES) {
    throw new DomainError(
      BATCH_TOO_MANY_BATCHES,
      `item_list makes ${Math.ceil(list.items.length / list.batch_size)} batches of ${list.batch_size}: a job on ECS has at most ${MAX_ECS_BATCHES}`,
      { status: 400, hint: "raise batch_size, or split the items into several jobs" },
    );
  }
}

/**
 * Starts a job: queues made and filled, workers started, status object written. An item source
 * that fails (an S3 listing that matches nothing, a bad line, a batch too large) fails the job:
 * its record says `status_enqueue_failed` with the reason, its queues are deleted, and the error
 * is thrown with the job's id in front.
 */
export async function submitEcsJob(
  deps: EcsApiDeps,
  api: string,
  submission: BatchJobSubmission,
  now: Date = new Date(),
): Promise<BatchJobSpec> {
  checkEcsSubmission(submission);
  const taskDefinition = await requireBatchApi(deps, api);
  const jobId = newJobId(now);
  const maxRetries = submission.max_retries ?? DEFAULT_MAX_RETRIES;
  const timeout = submission.timeout ?? DEFAULT_BATCH_TIMEOUT_SECONDS;
  const spec: BatchJobSpec = {
    job_id: jobId,
    api_name: api,
    workers: submission.workers,
    config: { ...taskDefinition.spec?.predictor.config, ...submission.config },
    api_id: taskDefinition.arn.split("/").at(-1) ?? taskDefinition.arn,
    sqs_url: null,
    created_time: now.toISOString(),
    max_retries: maxRetries,
    timeout,
  };
  // The workers' environment must fit RunTask's overrides: checked before anything is made.
  workerOverrides(spec, "x".repeat(256), maxRetries + 1);

  const tags = { ...apiTags(deps.refs, api), [BATCH_TAGS.job]: jobId };
  const queues = await createJobQueues(deps, {
    names: jobQueueNames(deps.refs, api, jobId),
    visibilityTimeoutSeconds: timeout,
    maxReceiveCount: maxRetries + 1,
    tags,
  });
  spec.sqs_url = queues.queueUrl;
  const record: EcsJobRecord = { job: statusOf(spec, "status_enqueuing"), queues, taskArns: [] };
  await writeRecord(deps, record);

  let total: number;
  let items = 0;
  try {
    const batches =
      submission.item_list !== undefined
        ? chunk(submission.item_list.items, submission.item_list.batch_size)
        : s3ItemBatches(deps.ports.s3, submission, { signal: deps.signal });
    total = await enqueueBatches(
      deps,
      queues.queueUrl,
      countItems(batches ?? [], (n) => (items += n)),
    );
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    await endJob(deps, record, "status_enqueue_failed", reason, zeroCounts(), new Date());
    throw withJobId(error, jobId, "failed to enqueue");
  }
  spec.total_batch_count = total;
  record.items = items;
  record.job = { ...statusOf(spec, "status_running"), batches_in_queue: total };
  let started: { taskArns: string[]; failures: string[] };
  try {
    // A worker beyond one per batch would start, find the queue empty and stop: billed for nothing.
    started = await startWorkers(
      deps,
      taskDefinition.arn,
      spec,
      queues,
      tags,
      Math.min(spec.workers, total),
    );
  } catch (error) {
    // Refused (permissions, throttling past the retries): no job runs half-started.
    const reason = `its workers could not be started: ${error instanceof Error ? error.message : String(error)}`;
    await endJob(deps, record, "status_unexpected_error", reason, zeroCounts(), new Date());
    throw withJobId(error, jobId, "failed to start");
  }
  record.taskArns = started.taskArns;
  record.job.start_time = new Date().toISOString();
  if (started.taskArns.length === 0) {
    const reason = `RunTask started none of the ${spec.workers} workers: ${started.failures.join("; ")}`;
    await endJob(deps, record, "status_unexpected_error", reason, zeroCounts(), new Date());
    throw new DomainError(BATCH_WORKERS_NOT_STARTED, `job ${jobId}: ${reason}`, {
      status: 503,
      hint: "check the cluster's Fargate capacity and quotas (axon cluster info), then submit again",
    });
  }
  if (started.failures.length > 0) {
    record.job.status_message = `${started.taskArns.length} of ${Math.min(spec.workers, total)} workers started: ${started.failures.join("; ")}`;
  } else if (total < spec.workers) {
    record.job.status_message = `${total} of the ${spec.workers} workers started: the job has ${total} batch(es)`;
  }
  await writeRecord(deps, record);
  return spec;
}

// ---- describe, list, stop -----------------------------------------------------------------------

/** A job's status now (Cortex's `GET <endpoint>/<job_id>`); a job found ended is settled. */
export async function describeEcsJob(
  deps: EcsApiDeps,
  api: string,
  jobId: string,
  now: Date = new Date(),
): Promise<BatchJobResponse> {
  const record = await readRecord(deps, api, jobId);
  if (record === undefined) throw jobNotFound(deps, api, jobId);
  return { job_status: await refreshJob(deps, record, now), endpoint: jobsEndpoint(api) };
}

/** Every job of the API, newest first, live ones refreshed from the account. */
export async function listEcsJobs(
  deps: EcsApiDeps,
  api: string,
  now: Date = new Date(),
): Promise<BatchJobList> {
  await requireBatchApi(deps, api);
  const jobs: BatchJobStatus[] = [];
  for (const jobId of await listJobIds(deps, api)) {
    const record = await readRecord(deps, api, jobId);
    if (record !== undefined) jobs.push(await refreshJob(deps, record, now));
  }
  jobs.sort((a, b) =>
    a.created_time < b.created_time ? 1 : a.created_time > b.created_time ? -1 : 0,
  );
  return { api, endpoint: jobsEndpoint(api), jobs };
}

/** Stops a job: its workers are stopped, its queues deleted, `status_stopped` recorded. */
export async function stopEcsJob(
  deps: EcsApiDeps,
  api: string,
  jobId: string,
  now: Date = new Date(),
): Promise<BatchJobStopped> {
  const record = await readRecord(deps, api, jobId);
  if (record === undefined) throw jobNotFound(deps, api, jobId);
  if (!LIVE.has(record.job.status)) {
    return { message: `job ${jobId} had already ended (${record.job.status})` };
  }
  const counts = await queueCounts(deps, record.queues).catch(() => zeroCounts());
  await endJob(deps, record, "status_stopped", "stopped by request", counts, now);
  return { message: `stopped job ${jobId}` };
}

/**
 * Removes every job of a BatchAPI (for `axon delete <api>`): live jobs are stopped, queues left by
 * anything (a submission cut short) deleted by name prefix, status objects removed. Returns how
 * many jobs there were.
 */
export async function deleteEcsBatchJobs(deps: EcsApiDeps, api: string): Promise<number> {
  const jobIds = await listJobIds(deps, api);
  for (const jobId of jobIds) {
    const record = await readRecord(deps, api, jobId);
    if (record !== undefined && LIVE.has(record.job.status)) {
      await stopTasks(deps, await jobTaskArns(deps, record), "its API was deleted");
    }
  }
  await deleteQueues(deps, await listQueueUrls(deps, jobQueuePrefix(deps.refs, api)));
  // The records and the jobs' failures: everything under jobs/<api>/, 1,000 keys per call.
  const keys = await listKeys(deps, jobRecordPrefix(api));
  for (let start = 0; start < keys.length; start += 1000) {
    await callAws(deps, "s3:DeleteObjects", () =>
      deps.ports.s3.deleteObjects({
        Bucket: deps.refs.bucketName,
        Delete: { Objects: keys.slice(start, start + 1000).map((Key) => ({ Key })) },
      }),
    );
  }
  if (jobIds.length > 0) deps.onProgress?.(`removed ${jobIds.length} job(s) of ${api}`);
  return jobIds.length;
}

/**
 * The cluster's BatchAPIs as `axon get` lists them: a job is running while it has its queue (an
 * ended job's queue is deleted when it is settled), and the newest job id is the largest (ids
 * start with their time). `realtimeApis` are skipped without a call.
 */
export async function listEcsBatchApis(
  deps: EcsApiDeps,
  realtimeApis: readonly string[],
): Promise<BatchApiSummary[]> {
  const summaries: BatchApiSummary[] = [];
  for (const api of await batchApiNames(deps, realtimeApis)) {
    const queues = await listQueueUrls(deps, jobQueuePrefix(deps.refs, api));
    const ids = await listJobIds(deps, api);
    const latest = ids.sort().at(-1);
    summaries.push({
      name: api,
      kind: "BatchAPI",
      endpoint: jobsEndpoint(api),
      lastUpdated: "",
      runningJobs: queues.filter((url) => !url.endsWith(DEAD_LETTER_SUFFIX)).length,
      ...(latest === undefined ? {} : { latestJobId: latest }),
    });
  }
  return summaries;
}

/**
 * Removes every BatchAPI of the cluster (for `cluster down`, after the services): the APIs with job
 * records and those whose latest task definition is a BatchAPI's lose their jobs, task definitions
 * and bundles; queues of the cluster's jobs left by anything are deleted. Returns the APIs' names.
 */
export async function deleteAllEcsBatchApis(deps: EcsApiDeps): Promise<string[]> {
  const { refs } = deps;
  const names = new Set<string>();
  let token: string | undefined;
  do {
    const page = await callAws(deps, "s3:ListObjectsV2", () =>
      deps.ports.s3.listObjectsV2({
        Bucket: refs.bucketName,
        Prefix: "jobs/",
        ...(token === undefined ? {} : { ContinuationToken: token }),
      }),
    );
    for (const object of page.Contents ?? []) {
      const api = (object.Key ?? "").split("/")[1];
      if (api !== undefined && api !== "") names.add(api);
    }
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  for (const api of await batchApiNames(deps)) names.add(api);
  const { deleteApiResources } = await import("./api-delete.js");
  for (const name of names) {
    deps.onProgress?.(`deleting BatchAPI ${name}`);
    await deleteEcsBatchJobs(deps, name);
    await deleteApiResources(deps, name);
  }
  // Only this cluster's job queues: `axon-demo-` also starts `axon-demo-2-…`, the exact shape does not.
  const ours = new RegExp(`/${refs.clusterName}-[0-9a-f]{8}-[0-9a-f]{16}(${DEAD_LETTER_SUFFIX})?$`);
  const left = await listQueueUrls(deps, `${refs.clusterName}-`);
  await deleteQueues(
    deps,
    left.filter((url) => ours.test(url)),
  );
  return [...names];
}

/** A live job's status from the account; ended (workers all stopped) → settled and frozen. */
async function refreshJob(
  deps: EcsApiDeps,
  record: EcsJobRecord,
  now: Date,
): Promise<BatchJobStatus> {
  const { job } = record;
  if (!LIVE.has(job.status)) return job;
  if (job.status === "status_enqueuing") {
    // Submission writes `running` once every batch is sent: a job still enqueuing long after it
    // was created lost its submitter half-way, and its batches are incomplete.
    if (now.getTime() - Date.parse(job.created_time) < ENQUEUE_ABANDONED_MS) return job;
    const reason = "its submission was interrupted before every batch was queued";
    return endJob(deps, record, "status_enqueue_failed", reason, zeroCounts(), now);
  }
  let counts: QueueCounts;
  try {
    counts = await queueCounts(deps, record.queues);
  } catch (error) {
    if (!isAwsError(error, "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue"))
      throw error;
    const reason = "its queue was deleted outside axon";
    return endJob(deps, record, "status_unexpected_error", reason, zeroCounts(), now);
  }
  const tasks = await describeJobTasks(deps, await jobTaskArns(deps, record));
  const workers = workerCounts(tasks, now);
  const failures = counts.failed > 0 ? await readFailures(deps, job) : [];
  const live = {
    ...job,
    ...progress(job, counts),
    worker_counts: workers,
    ...(failures.length === 0 ? {} : { failures }),
  };
  record.job = { ...live, ...rateOf(record, live, counts, now) };
  const active = workers.pending + workers.initializing + workers.running + workers.stalled;
  if (active > 0) return record.job;
  if (counts.queued + counts.inFlight === 0) {
    const status = counts.failed > 0 ? "status_completed_with_failures" : "status_succeeded";
    const reason =
      counts.failed > 0
        ? `${counts.failed} batch(es) failed after ${(job.max_retries ?? 0) + 1} attempt(s)`
        : undefined;
    return endJob(deps, record, status, reason, counts, now);
  }
  // Every worker stopped with batches left: they crashed (or ran out of memory).
  const reasons = stoppedReasons(tasks);
  const oom = reasons.some((reason) => /OutOfMemory|OOM/i.test(reason));
  return endJob(
    deps,
    record,
    oom ? "status_worker_oom" : "status_worker_error",
    `every worker stopped with ${counts.queued + counts.inFlight} batch(es) left${reasons.length > 0 ? `: ${reasons.join("; ")}` : ""}`,
    counts,
    now,
  );
}

/**
 * Ends a job: its workers stopped, its queues deleted, its status frozen into the status object
 * with the counts it ended with. Safe to repeat.
 */
async function endJob(
  deps: EcsApiDeps,
  record: EcsJobRecord,
  status: BatchJobStatusCode,
  reason: string | undefined,
  counts: QueueCounts,
  now: Date,
): Promise<BatchJobStatus> {
  await stopTasks(deps, await jobTaskArns(deps, record), `job ${status.replace(/^status_/, "")}`);
  await deleteQueues(deps, [record.queues.queueUrl, record.queues.deadLetterUrl]);
  // An ended job has nothing left to wait for.
  const { status_message: _old, eta_seconds: _eta, ...job } = record.job;
  record.job = {
    ...job,
    ...progress(record.job, counts),
    status,
    end_time: now.toISOString(),
    ...(reason === undefined ? {} : { status_message: reason }),
  };
  await writeRecord(deps, record);
  return record.job;
}

/**
 * Items per second and the seconds left, averaged since the job started: SQS keeps no history to
 * take the last minute's rate from (the local engine's), and a status object written on every read
 * would cost a PUT per `get`. Absent before the first batch is done.
 */
function rateOf(
  record: EcsJobRecord,
  job: BatchJobStatus,
  counts: QueueCounts,
  now: Date,
): Pick<BatchJobStatus, "items_per_second" | "eta_seconds"> {
  const elapsed = (now.getTime() - Date.parse(job.start_time ?? "")) / 1000;
  const done = job.batch_metrics.succeeded + job.batch_metrics.failed;
  const total = job.total_batch_count ?? 0;
  if (!(elapsed > 0) || done === 0 || total === 0) return {};
  const itemsPerBatch = (record.items ?? total) / total;
  const batchesPerSecond = done / elapsed;
  return {
    items_per_second: Math.round(((done * itemsPerBatch) / elapsed) * 100) / 100,
    eta_seconds: Math.ceil((counts.queued + counts.inFlight) / batchesPerSecond),
  };
}

function progress(job: BatchJobStatus, counts: QueueCounts): Partial<BatchJobStatus> {
  const total = job.total_batch_count ?? 0;
  return {
    batches_in_queue: counts.queued,
    batches_in_progress: counts.inFlight,
    batch_metrics: {
      ...job.batch_metrics,
      succeeded: Math.max(0, total - counts.queued - counts.inFlight - counts.failed),
      failed: counts.failed,
    },
  };
}

// ---- small helpers ------------------------------------------------------------------------------

function statusOf(spec: BatchJobSpec, status: BatchJobStatusCode): BatchJobStatus {
  return {
    ...spec,
    status,
    batches_in_queue: 0,
    batch_metrics: { succeeded: 0, failed: 0 },
    worker_counts: { pending: 0, initializing: 0, running: 0, succeeded: 0, failed: 0, stalled: 0 },
  };
}

function zeroCounts(): QueueCounts {
  return { queued: 0, inFlight: 0, failed: 0 };
}

/** The batches as they go by, their items counted. */
async function* countItems(
  batches: AsyncIterable<unknown[]> | Iterable<unknown[]>,
  add: (count: number) => void,
): AsyncGenerator<unknown[]> {
  let count = 0;
  for await (const batch of batches) {
    count += 1;
    if (count > MAX_ECS_BATCHES) {
      throw new DomainError(
        BATCH_TOO_MANY_BATCHES,
        `the job has more than ${MAX_ECS_BATCHES} batches: a submission sends every batch before it answers`,
        { status: 400, hint: "raise batch_size, or split the items into several jobs" },
      );
    }
    add(batch.length);
    yield batch;
  }
}

function* chunk<T>(items: T[], size: number): Generator<T[]> {
  for (let start = 0; start < items.length; start += size) yield items.slice(start, start + size);
}

/**
 * Where a job's status is read (the control API): a BatchAPI on ECS has no load-balancer route of
 * its own yet, so Cortex's `<endpoint>/<job_id>` is this path of the control plane.
 */
function jobsEndpoint(api: string): string {
  return `/v1/apis/${api}/jobs`;
}

function withJobId(error: unknown, jobId: string, what: string): unknown {
  if (!(error instanceof DomainError)) return error;
  return new DomainError(error.code, `job ${jobId} ${what}: ${error.message}`, {
    status: error.status,
    ...(error.hint === undefined ? {} : { hint: error.hint }),
    cause: error,
  });
}
