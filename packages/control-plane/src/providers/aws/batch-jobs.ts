/**
 * A BatchAPI's jobs on ECS (issue 32, decision 0009: the account is the record).
 *
 * - Deploy registers the API's task definition — the replica image, `AXON_MODE=batch`, no port and
 *   no health check (nothing is served) — and makes no service: nothing runs between jobs.
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
import type { RegisterTaskDefinitionCommandInput, Task } from "@aws-sdk/client-ecs";
import { createHash } from "node:crypto";
import type { ApiSpec } from "@axon/config";
import type {
  BatchApiSummary,
  BatchFailure,
  BatchJobList,
  BatchJobResponse,
  BatchJobSpec,
  BatchJobStatus,
  BatchJobStatusCode,
  BatchJobStopped,
  BatchJobSubmission,
  BatchWorkerCounts,
} from "../../contract/index.js";
import { DomainError, API_NOT_FOUND } from "../../errors.js";
import { s3ItemBatches } from "../../batch/s3-items.js";
import { formatLogTime } from "../../events/log-line.js";
import type { LogSource } from "../provider.js";
import { ensureBundle, isAwsError, type ApiDeployRequest } from "./api-deploy.js";
import { REPLICA_CONTAINER, logStreamPrefix, taskFamily, type EcsApiDeps } from "./api-names.js";
import { apiTags, taskDefinitionInput } from "./api-task-definition.js";
import {
  BATCH_ENV,
  BATCH_MODE,
  BATCH_TAGS,
  DEAD_LETTER_SUFFIX,
  JOB_ID_PATTERN,
  MAX_ECS_WORKERS,
  MAX_MAX_RECEIVE_COUNT,
  MAX_VISIBILITY_TIMEOUT_SECONDS,
  RUN_TASK_MAX_COUNT,
  RUN_TASK_MAX_OVERRIDE_CHARS,
  jobQueueNames,
  jobQueuePrefix,
  jobFailurePrefix,
  jobRecordKey,
  jobRecordPrefix,
  jobStartedBy,
  newJobId,
} from "./batch-names.js";
import {
  createJobQueues,
  deleteQueues,
  enqueueBatches,
  listQueueUrls,
  queueCounts,
  type JobQueues,
  type QueueCounts,
} from "./batch-queue.js";
import { callAws } from "./cluster-stack.js";

/** No job of that id for that API (404). */
export const BATCH_JOB_NOT_FOUND = "batch.job_not_found";
/** The API exists but is not a BatchAPI (400). */
export const BATCH_NOT_BATCH_API = "batch.not_batch_api";
/** A submission the ECS engine cannot run as given (400), naming the field. */
export const BATCH_SUBMISSION_INVALID = "batch.submission_invalid";
/** RunTask started none of the job's workers (503): the job is recorded as failed. */
export const BATCH_WORKERS_NOT_STARTED = "batch.workers_not_started";

/** Axon's defaults (contract/batch.ts): one retry, ten minutes per batch. */
export const DEFAULT_MAX_RETRIES = 1;
export const DEFAULT_BATCH_TIMEOUT_SECONDS = 600;
/** A job still enqueuing after this long was interrupted (the daemon died mid-submission). */
const ENQUEUE_ABANDONED_MS = 15 * 60_000;
/** A worker pending longer than this is stalled (Cortex's "stuck in pending for more than 10 minutes"). */
const STALLED_MS = 10 * 60_000;
/** Shown stopped reasons. */
const MAX_REASONS = 5;
/** Failed batches shown with their errors (contract: "the first failed batches (at most 20)"). */
const MAX_SHOWN_FAILURES = 20;

/** The job's status object: its Cortex status (frozen once it ended), its queues and its tasks. */
export interface EcsJobRecord {
  job: BatchJobStatus;
  queues: JobQueues;
  /** The tasks RunTask started (ListTasks forgets stopped tasks after about an hour). */
  taskArns: string[];
  /** Items enqueued (absent until every batch was sent): the rate counts items, not batches. */
  items?: number;
}

/** Statuses a job is still live in: the record is refreshed from the account on every read. */
const LIVE: ReadonlySet<BatchJobStatusCode> = new Set(["status_enqueuing", "status_running"]);

// ---- deploy -------------------------------------------------------------------------------------

/**
 * The task definition of a BatchAPI: the replica's, started in batch mode. No port mapping and no
 * health check: a batch worker serves nothing, and a health check that cannot pass would get ECS to
 * stop it. The spec is a RealtimeAPI-shaped `ApiSpec` until the BatchAPI kind is parsed (its
 * `name`, `predictor`, `compute` and `networking.endpoint` are what a batch worker needs).
 */
export function batchTaskDefinitionInput(
  spec: ApiSpec,
  refs: EcsApiDeps["refs"],
  bundleSha256: string,
): RegisterTaskDefinitionCommandInput {
  const input = taskDefinitionInput(spec, refs, bundleSha256);
  const containers = (input.containerDefinitions ?? []).map((container) => {
    const { portMappings: _ports, healthCheck: _health, ...rest } = container;
    return {
      ...rest,
      environment: [...(container.environment ?? []), { name: BATCH_ENV.mode, value: BATCH_MODE }]
        // Sorted, as the realtime input is, so equal specs hash equal.
        .sort((a, b) => ((a.name ?? "") < (b.name ?? "") ? -1 : 1)),
    };
  });
  return {
    ...input,
    containerDefinitions: containers,
    tags: [...(input.tags ?? []), { key: BATCH_TAGS.kind, value: "BatchAPI" }],
  };
}

/**
 * Deploys a BatchAPI: its bundle in the bucket and its task definition, registered only when
 * something changed (the spec hash is tagged on the revision).
 */
export async function deployEcsBatchApi(
  deps: EcsApiDeps,
  request: ApiDeployRequest,
): Promise<{ outcome: "created" | "updated" | "unchanged"; taskDefinitionArn: string }> {
  const input = batchTaskDefinitionInput(request.spec, deps.refs, request.bundleSha256);
  const hash = createHash("sha256").update(JSON.stringify(input)).digest("hex");
  const current = await describeBatchTaskDefinition(deps, request.spec.name);
  if (current !== undefined && current.tags["axon:spec-hash"] === hash) {
    return { outcome: "unchanged", taskDefinitionArn: current.arn };
  }
  await ensureBundle(deps, request);
  const registered = await callAws(deps, "ecs:RegisterTaskDefinition", () =>
    deps.ports.ecs.registerTaskDefinition({
      ...input,
      tags: [...(input.tags ?? []), { key: "axon:spec-hash", value: hash }],
    }),
  );
  const arn = registered.taskDefinition?.taskDefinitionArn ?? "";
  deps.onProgress?.(`registered task definition ${arn.split("/").at(-1) ?? arn} (batch mode)`);
  return { outcome: current === undefined ? "created" : "updated", taskDefinitionArn: arn };
}

/** The API's latest task definition with its tags and spec; undefined when it has none. */
async function describeBatchTaskDefinition(
  deps: EcsApiDeps,
  api: string,
): Promise<{ arn: string; tags: Record<string, string>; spec?: ApiSpec } | undefined> {
  let output;
  try {
    output = await callAws(deps, "ecs:DescribeTaskDefinition", () =>
      deps.ports.ecs.describeTaskDefinition({
        taskDefinition: taskFamily(deps.refs.clusterName, api),
        include: ["TAGS"],
      }),
    );
  } catch (error) {
    // ECS answers ClientException for a family with no ACTIVE revision.
    if (isAwsError(error, "ClientException")) return undefined;
    throw error;
  }
  const definition = output.taskDefinition;
  if (definition === undefined || definition.status === "INACTIVE") return undefined;
  const tags = Object.fromEntries(
    (output.tags ?? []).map((tag) => [tag.key ?? "", tag.value ?? ""]),
  );
  const { replicaEnvironment } = await import("./api-status.js");
  const { spec } = replicaEnvironment(definition);
  return {
    arn: definition.taskDefinitionArn ?? "",
    tags,
    ...(spec === undefined ? {} : { spec }),
  };
}

/** The BatchAPI `api`'s task definition, or a 404 / 400 saying why there is none. */
async function requireBatchApi(
  deps: EcsApiDeps,
  api: string,
): Promise<{ arn: string; spec?: ApiSpec }> {
  const found = await describeBatchTaskDefinition(deps, api);
  if (found === undefined) {
    throw new DomainError(
      API_NOT_FOUND,
      `there is no BatchAPI named ${api} in environment ${deps.refs.envName}`,
      { status: 404, hint: `axon get --env ${deps.refs.envName} lists its APIs` },
    );
  }
  if (found.tags[BATCH_TAGS.kind] !== "BatchAPI") {
    throw new DomainError(
      BATCH_NOT_BATCH_API,
      `${api} in environment ${deps.refs.envName} is a RealtimeAPI: jobs are submitted to a BatchAPI`,
      { status: 400, hint: "deploy the API with kind: BatchAPI, or send it requests instead" },
    );
  }
  return found;
}

// ---- submit -------------------------------------------------------------------------------------

/** What the ECS engine refuses in a submission, before any AWS call: 400 naming the field. */
export function checkEcsSubmission(submission: BatchJobSubmission): void {
  const refuse = (field: string, what: string, hint: string): never => {
    throw new DomainError(BATCH_SUBMISSION_INVALID, `${field} ${what}`, { status: 400, hint });
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
  const sources = [
    submission.item_list,
    submission.file_path_lister,
    submission.delimited_files,
  ].filter((source) => source !== undefined);
  if (sources.length !== 1) {
    refuse(
      "item_list / file_path_lister / delimited_files",
      `are ${sources.length} given: a job takes exactly one`,
      "give exactly one item source",
    );
  }
  const batchSize = sources[0]?.batch_size;
  if (!Number.isInteger(batchSize) || (batchSize ?? 0) < 1) {
    refuse(
      "batch_size",
      `is ${String(batchSize)}`,
      "set batch_size to a whole number of 1 or more",
    );
  }
  if (submission.item_list !== undefined && submission.item_list.items.length === 0) {
    refuse(
      "item_list.items",
      "is empty: the job would have nothing to do",
      "give at least one item",
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
    started = await startWorkers(deps, taskDefinition.arn, spec, queues, tags);
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
    record.job.status_message = `${started.taskArns.length} of ${spec.workers} workers started: ${started.failures.join("; ")}`;
  }
  await writeRecord(deps, record);
  return spec;
}

/** The container environment a job's workers get, checked against RunTask's 8,192 characters. */
function workerOverrides(
  spec: BatchJobSpec,
  queueUrl: string,
  maxReceives: number,
): {
  containerOverrides: Array<{ name: string; environment: Array<{ name: string; value: string }> }>;
} {
  const overrides = {
    containerOverrides: [
      {
        name: REPLICA_CONTAINER,
        environment: [
          { name: BATCH_ENV.queueUrl, value: queueUrl },
          { name: BATCH_ENV.job, value: JSON.stringify(spec) },
          { name: BATCH_ENV.maxReceives, value: String(maxReceives) },
          { name: BATCH_ENV.failurePrefix, value: jobFailurePrefix(spec.api_name, spec.job_id) },
        ],
      },
    ],
  };
  const size = JSON.stringify(overrides).length;
  if (size > RUN_TASK_MAX_OVERRIDE_CHARS) {
    throw new DomainError(
      BATCH_SUBMISSION_INVALID,
      `config is too large for ECS: the job's spec reaches its workers in RunTask's overrides, at most ${RUN_TASK_MAX_OVERRIDE_CHARS} characters, and this one takes ${size}`,
      {
        status: 400,
        hint: "keep the job's config small (put large settings in S3 and pass their path)",
      },
    );
  }
  return overrides;
}

/** RunTask in calls of at most 10: the ARNs started and the reasons of those that were not. */
async function startWorkers(
  deps: EcsApiDeps,
  taskDefinitionArn: string,
  spec: BatchJobSpec,
  queues: JobQueues,
  tags: Record<string, string>,
): Promise<{ taskArns: string[]; failures: string[] }> {
  const { refs } = deps;
  const taskArns: string[] = [];
  const failures: string[] = [];
  const overrides = workerOverrides(spec, queues.queueUrl, (spec.max_retries ?? 0) + 1);
  for (let left = spec.workers; left > 0; left -= RUN_TASK_MAX_COUNT) {
    const count = Math.min(RUN_TASK_MAX_COUNT, left);
    const output = await callAws(deps, "ecs:RunTask", () =>
      deps.ports.ecs.runTask({
        cluster: refs.clusterName,
        taskDefinition: taskDefinitionArn,
        count,
        launchType: "FARGATE",
        startedBy: jobStartedBy(spec.job_id),
        // The services' network: the cluster's task subnets and security group.
        networkConfiguration: {
          awsvpcConfiguration: {
            subnets: refs.taskSubnetIds,
            securityGroups: [refs.taskSecurityGroupId],
            assignPublicIp: refs.assignPublicIp ? "ENABLED" : "DISABLED",
          },
        },
        overrides,
        tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
      }),
    );
    taskArns.push(...(output.tasks ?? []).flatMap((task) => (task.taskArn ? [task.taskArn] : [])));
    failures.push(
      ...(output.failures ?? []).map(
        (failure) => `${failure.reason ?? "failed"}${failure.detail ? ` (${failure.detail})` : ""}`,
      ),
    );
  }
  deps.onProgress?.(`started ${taskArns.length} worker task(s) for job ${spec.job_id}`);
  return { taskArns, failures: [...new Set(failures)].slice(0, MAX_REASONS) };
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
 * The cluster's BatchAPIs, from their task definitions (the family's latest revision is tagged
 * `axon:kind`). Families of `skip` (the APIs that have a service: RealtimeAPIs) are not described,
 * so a listing costs one ListTaskDefinitionFamilies and one DescribeTaskDefinition per BatchAPI.
 */
async function batchApiNames(deps: EcsApiDeps, skip: readonly string[] = []): Promise<string[]> {
  const { refs } = deps;
  const all = await callAws(deps, "ecs:ListTaskDefinitionFamilies", () =>
    deps.ports.ecs.listAllTaskDefinitionFamilies({
      familyPrefix: `${refs.clusterName}-`,
      status: "ACTIVE",
    }),
  );
  const skipped = new Set(skip.map((api) => taskFamily(refs.clusterName, api)));
  const families = all.filter((family) => !skipped.has(family));
  const names: string[] = [];
  for (const family of families) {
    // ClientException: a family with no ACTIVE revision left (moto lists those too).
    const described = await callAws(deps, "ecs:DescribeTaskDefinition", () =>
      deps.ports.ecs.describeTaskDefinition({ taskDefinition: family, include: ["TAGS"] }),
    ).catch((error: unknown) => {
      if (isAwsError(error, "ClientException")) return undefined;
      throw error;
    });
    if (described?.taskDefinition?.status !== "ACTIVE") continue;
    const tags = Object.fromEntries((described.tags ?? []).map((tag) => [tag.key, tag.value]));
    const api = tags["axon:api"];
    if (tags[BATCH_TAGS.kind] === "BatchAPI" && api !== undefined) names.push(api);
  }
  return names.sort();
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

// ---- tasks --------------------------------------------------------------------------------------

/** The job's tasks: those RunTask answered, and any ListTasks finds by `startedBy`. */
async function jobTaskArns(deps: EcsApiDeps, record: EcsJobRecord): Promise<string[]> {
  const arns = new Set(record.taskArns);
  for (const desiredStatus of ["RUNNING", "STOPPED"] as const) {
    const listed = await callAws(deps, "ecs:ListTasks", () =>
      deps.ports.ecs.listTasks({
        cluster: deps.refs.clusterName,
        startedBy: jobStartedBy(record.job.job_id),
        desiredStatus,
      }),
    );
    for (const arn of listed.taskArns ?? []) arns.add(arn);
  }
  return [...arns];
}

async function describeJobTasks(deps: EcsApiDeps, arns: string[]): Promise<Task[]> {
  const tasks: Task[] = [];
  // DescribeTasks takes up to 100 tasks per call.
  for (let start = 0; start < arns.length; start += 100) {
    const output = await callAws(deps, "ecs:DescribeTasks", () =>
      deps.ports.ecs.describeTasks({
        cluster: deps.refs.clusterName,
        tasks: arns.slice(start, start + 100),
      }),
    );
    tasks.push(...(output.tasks ?? []));
  }
  return tasks;
}

async function stopTasks(deps: EcsApiDeps, arns: string[], reason: string): Promise<void> {
  const tasks = await describeJobTasks(deps, arns);
  for (const task of tasks) {
    if (
      task.lastStatus === "STOPPED" ||
      task.desiredStatus === "STOPPED" ||
      task.taskArn === undefined
    )
      continue;
    const taskArn = task.taskArn;
    await callAws(deps, "ecs:StopTask", () =>
      deps.ports.ecs.stopTask({ cluster: deps.refs.clusterName, task: taskArn, reason }),
    );
  }
}

/**
 * Cortex's worker counts from ECS task states: PROVISIONING/PENDING are pending (stalled after 10
 * minutes), ACTIVATING initializing, RUNNING running; a stopped task succeeded when its container
 * exited 0, else failed. A task on its way down counts as running until it has stopped.
 */
export function workerCounts(tasks: Task[], now: Date): BatchWorkerCounts {
  const counts: BatchWorkerCounts = {
    pending: 0,
    initializing: 0,
    running: 0,
    succeeded: 0,
    failed: 0,
    stalled: 0,
  };
  for (const task of tasks) {
    switch (task.lastStatus) {
      case undefined:
      case "PROVISIONING":
      case "PENDING": {
        const created = task.createdAt?.getTime() ?? now.getTime();
        if (now.getTime() - created > STALLED_MS) counts.stalled += 1;
        else counts.pending += 1;
        break;
      }
      case "ACTIVATING":
        counts.initializing += 1;
        break;
      case "STOPPED": {
        const exit = task.containers?.find((c) => c.name === REPLICA_CONTAINER)?.exitCode;
        if (exit === 0) counts.succeeded += 1;
        else counts.failed += 1;
        break;
      }
      default:
        counts.running += 1;
    }
  }
  return counts;
}

function stoppedReasons(tasks: Task[]): string[] {
  const reasons = tasks.flatMap((task) => {
    const container = task.containers?.find((c) => c.name === REPLICA_CONTAINER);
    const parts = [task.stoppedReason, container?.reason].filter(
      (part): part is string => part !== undefined && part !== "",
    );
    return parts.length === 0 ? [] : [parts.join(": ")];
  });
  return [...new Set(reasons)].slice(0, MAX_REASONS);
}

// ---- logs ---------------------------------------------------------------------------------------

/**
 * A job's log: its workers' streams (`<api>/replica/<task id>`) in the cluster's log group, read
 * with FilterLogEvents by stream name (at most 100 names per call), followed by polling.
 */
export async function ecsJobLogSource(
  deps: EcsApiDeps,
  api: string,
  jobId: string,
  options: { pollMs?: number } = {},
): Promise<LogSource> {
  const record = await readRecord(deps, api, jobId);
  if (record === undefined) throw jobNotFound(deps, api, jobId);
  const streams = async (): Promise<string[]> =>
    (await jobTaskArns(deps, record)).map(
      (arn) => `${logStreamPrefix(api)}/${REPLICA_CONTAINER}/${arn.split("/").at(-1) ?? arn}`,
    );
  const read = async (
    startTime: number,
    signal: AbortSignal,
  ): Promise<Array<{ time: number; line: string; id: string }>> => {
    const names = (await streams()).slice(0, 100);
    if (names.length === 0) return [];
    const events: Array<{ time: number; line: string; id: string }> = [];
    let nextToken: string | undefined;
    do {
      const page = await callAws({ ...deps, signal }, "logs:FilterLogEvents", () =>
        deps.ports.logs.filterLogEvents({
          logGroupName: deps.refs.logGroupName,
          logStreamNames: names,
          startTime,
          ...(nextToken === undefined ? {} : { nextToken }),
        }),
      );
      for (const event of page.events ?? []) {
        const task = (event.logStreamName ?? "").split("/").at(-1)?.slice(0, 8) ?? "";
        const time = event.timestamp ?? 0;
        events.push({
          time,
          id: event.eventId ?? `${time}/${event.message ?? ""}`,
          line: `${formatLogTime(new Date(time))} INFO [${api} ${task} ${jobId}] ${(event.message ?? "").trimEnd()}\n`,
        });
      }
      nextToken = page.nextToken;
    } while (nextToken !== undefined && !signal.aborted);
    return events.sort((a, b) => a.time - b.time);
  };
  const since = Date.parse(record.job.created_time) || 0;
  const pollMs = options.pollMs ?? 2000;
  return {
    tail: async (_name, lines) => {
      const events = await read(since, deps.signal);
      const kept = lines <= 0 ? [] : events.slice(-lines);
      return {
        text: kept.map((event) => event.line).join(""),
        position: events.at(-1)?.time ?? since,
      };
    },
    follow: async (_name, position, onData, signal) => {
      const seen = new Set<string>();
      let from = position;
      while (!signal.aborted) {
        // Events arrive seconds late: re-read the last 15 s, and write each event once.
        for (const event of await read(Math.max(since, from - 15_000), signal)) {
          if (event.time <= position || seen.has(event.id)) continue;
          seen.add(event.id);
          from = Math.max(from, event.time);
          onData(Buffer.from(event.line));
        }
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, pollMs);
          signal.addEventListener(
            "abort",
            () => {
              clearTimeout(timer);
              resolve(undefined);
            },
            { once: true },
          );
        });
      }
    },
  };
}

// ---- the status object --------------------------------------------------------------------------

async function writeRecord(deps: EcsApiDeps, record: EcsJobRecord): Promise<void> {
  await callAws(deps, "s3:PutObject", () =>
    deps.ports.s3.putObject({
      Bucket: deps.refs.bucketName,
      Key: jobRecordKey(record.job.api_name, record.job.job_id),
      Body: JSON.stringify(record),
      ContentType: "application/json",
    }),
  );
}

async function readRecord(
  deps: EcsApiDeps,
  api: string,
  jobId: string,
): Promise<EcsJobRecord | undefined> {
  if (!JOB_ID_PATTERN.test(jobId)) return undefined;
  let bytes: Uint8Array;
  try {
    bytes = await callAws(deps, "s3:GetObject", () =>
      deps.ports.s3.getObjectBytes({ Bucket: deps.refs.bucketName, Key: jobRecordKey(api, jobId) }),
    );
  } catch (error) {
    if (isAwsError(error, "NoSuchKey", "NotFound")) return undefined;
    throw error;
  }
  return parseRecord(new TextDecoder().decode(bytes));
}

/** A status object read back: only what Axon relies on is checked; anything else is no record. */
export function parseRecord(json: string): EcsJobRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const record = value as Partial<EcsJobRecord>;
  if (
    typeof record.job?.job_id !== "string" ||
    typeof record.job.status !== "string" ||
    typeof record.queues?.queueUrl !== "string" ||
    !Array.isArray(record.taskArns)
  ) {
    return undefined;
  }
  return record as EcsJobRecord;
}

async function listJobIds(deps: EcsApiDeps, api: string): Promise<string[]> {
  const prefix = jobRecordPrefix(api);
  return (await listKeys(deps, prefix))
    .map((key) => key.slice(prefix.length).replace(/\.json$/, ""))
    .filter((id) => JOB_ID_PATTERN.test(id));
}

/** Every key under `prefix` in the cluster bucket (ListObjectsV2, all pages). */
async function listKeys(deps: EcsApiDeps, prefix: string, limit = Infinity): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await callAws(deps, "s3:ListObjectsV2", () =>
      deps.ports.s3.listObjectsV2({
        Bucket: deps.refs.bucketName,
        Prefix: prefix,
        ...(Number.isFinite(limit) ? { MaxKeys: Math.min(1000, limit) } : {}),
        ...(token === undefined ? {} : { ContinuationToken: token }),
      }),
    );
    for (const object of page.Contents ?? []) if (object.Key !== undefined) keys.push(object.Key);
    token =
      page.IsTruncated === true && keys.length < limit ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return keys.slice(0, limit);
}

/** The first failed batches of a job (at most 20), as its workers recorded them. */
async function readFailures(deps: EcsApiDeps, job: BatchJobStatus): Promise<BatchFailure[]> {
  const keys = await listKeys(deps, jobFailurePrefix(job.api_name, job.job_id), MAX_SHOWN_FAILURES);
  const failures: BatchFailure[] = [];
  for (const key of keys) {
    const bytes = await callAws(deps, "s3:GetObject", () =>
      deps.ports.s3.getObjectBytes({ Bucket: deps.refs.bucketName, Key: key }),
    ).catch(() => undefined);
    if (bytes === undefined) continue;
    try {
      const value = JSON.parse(new TextDecoder().decode(bytes)) as Partial<BatchFailure>;
      if (typeof value.batch_id === "string" && typeof value.error === "string") {
        failures.push({
          batch_id: value.batch_id,
          attempts: Number(value.attempts) || 0,
          error: value.error,
        });
      }
    } catch {
      // A failure object that is not ours is not shown.
    }
  }
  return failures;
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
  for await (const batch of batches) {
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

function jobNotFound(deps: EcsApiDeps, api: string, jobId: string): DomainError {
  return new DomainError(
    BATCH_JOB_NOT_FOUND,
    `${api} in environment ${deps.refs.envName} has no job ${jobId}`,
    { status: 404, hint: `axon get ${api} --env ${deps.refs.envName} lists its jobs` },
  );
}

function withJobId(error: unknown, jobId: string, what: string): unknown {
  if (!(error instanceof DomainError)) return error;
  return new DomainError(error.code, `job ${jobId} ${what}: ${error.message}`, {
    status: error.status,
    ...(error.hint === undefined ? {} : { hint: error.hint }),
    cause: error,
  });
}
