/**
 * What a BatchAPI's jobs on ECS are called, tagged and bounded by (issue 32), in one place: the
 * engine (`batch-jobs.ts`), the queue helpers (`batch-queue.ts`), the container's batch mode
 * (`entrypoint/sqs-batch-source.ts`) and the cluster template's IAM policy all use these names.
 *
 * A job is one SQS queue and its dead-letter queue, `workers` Fargate tasks started by RunTask, and
 * a status object `jobs/<api>/<job_id>.json` in the cluster bucket (decision 0009: the account is
 * the record). Every AWS limit a job relies on is a constant here with the page it comes from; the
 * rules fake (`testing/fake-aws/RULES.md`, R15–R20) enforces the same ones.
 */
import { createHash, randomBytes } from "node:crypto";

/** The tags of a job's queues and tasks (with `axon:cluster`, `axon:env`, `axon:api`). */
export const BATCH_TAGS = {
  job: "axon:job",
  /** On a BatchAPI's task definition: tells it from a RealtimeAPI's. */
  kind: "axon:kind",
} as const;

/** The container's inputs in batch mode (set by the task definition, then by RunTask's override). */
export const BATCH_ENV = {
  /** `batch` on a BatchAPI's task definition: the container runs jobs instead of serving. */
  mode: "AXON_MODE",
  /** The job's queue (RunTask override). */
  queueUrl: "AXON_BATCH_QUEUE_URL",
  /** The job's spec as JSON: Cortex's `job_spec` for `__init__` (RunTask override). */
  job: "AXON_BATCH_JOB",
  /** The queue's maxReceiveCount: the last attempt a failure is final on (RunTask override). */
  maxReceives: "AXON_BATCH_MAX_RECEIVES",
  /** Where a batch that failed for good is recorded: the key prefix in the cluster bucket. */
  failurePrefix: "AXON_BATCH_FAILURE_PREFIX",
} as const;

/** The value of `AXON_MODE` that starts the container in batch mode. */
export const BATCH_MODE = "batch";

/**
 * SQS queue names: "up to 80 characters … alphanumeric characters, hyphens (-), and underscores
 * (_)", a FIFO queue's ending in `.fifo`
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html).
 * Ours are `axon-<cluster ≤ 27>-<8 hex of the API>-<16 hex job id>[-dlq]`: at most 62.
 */
export const MAX_QUEUE_NAME_LENGTH = 80;
export const QUEUE_NAME_PATTERN = /^[A-Za-z0-9_-]{1,80}$|^[A-Za-z0-9_-]{1,75}\.fifo$/;

/**
 * SendMessageBatch: at most 10 entries, and "the maximum allowed individual message size and the
 * maximum total payload size (the sum of the individual lengths of all of the batched messages) are
 * both 1 MiB 1,048,576 bytes"
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html).
 */
export const SEND_BATCH_MAX_ENTRIES = 10;
export const SEND_BATCH_MAX_BYTES = 1_048_576;

/**
 * One batch (one message) is at most 256 KiB: Cortex's documented bound ("Each batch must be
 * smaller than 256 KiB", cortexlabs/cortex:docs/workloads/batch/jobs.md), which is also SQS's
 * message size before 2025 — a queue made with an older default still holds it.
 */
export const MAX_BATCH_MESSAGE_BYTES = 262_144;

/**
 * A queue's VisibilityTimeout is 0 to 43,200 seconds (12 hours) (API_CreateQueue, above): the
 * longest a job's `timeout` may be on ECS.
 */
export const MAX_VISIBILITY_TIMEOUT_SECONDS = 43_200;

/**
 * The redrive policy's maxReceiveCount: "When the ReceiveCount for a message exceeds the
 * maxReceiveCount for a queue, Amazon SQS moves the message to the dead-letter-queue"; valid values
 * 1 to 1,000 (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-configure-dead-letter-queue.html,
 * API_SetQueueAttributes). A job's is `max_retries + 1`, so `max_retries` is 0–999.
 */
export const MIN_MAX_RECEIVE_COUNT = 1;
export const MAX_MAX_RECEIVE_COUNT = 1000;

/**
 * How long SQS keeps a message: 60 s to 1,209,600 s (14 days) (API_CreateQueue). A job's queues keep
 * theirs as long as they can: a job whose workers cannot start for a day still loses nothing.
 */
export const QUEUE_RETENTION_SECONDS = 1_209_600;

/**
 * RunTask starts at most 10 tasks per call ("You can specify up to 10 tasks for each call"), its
 * overrides hold at most 8,192 characters including the JSON of their structure, and `startedBy`
 * is up to 128 letters, numbers, hyphens, forward slashes and underscores
 * (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html).
 */
export const RUN_TASK_MAX_COUNT = 10;
export const RUN_TASK_MAX_OVERRIDE_CHARS = 8192;
export const STARTED_BY_PATTERN = /^[A-Za-z0-9_/-]{1,128}$/;

/**
 * A job's workers on ECS: at most 100 tasks (ten RunTask calls). Fargate's own quota is per account
 * and region; a job larger than this is more likely a typo than a plan.
 */
export const MAX_ECS_WORKERS = 100;

/**
 * Tags: at most 50 per queue (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-queues.html)
 * and per ECS resource (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Tag.html),
 * keys up to 128 characters, values up to 256.
 */
export const MAX_TAGS = 50;
export const MAX_TAG_KEY_LENGTH = 128;
export const MAX_TAG_VALUE_LENGTH = 256;

/** A new job's id: 8 hex digits of the time in seconds (ids sort by age), then 8 random ones. */
export function newJobId(now: Date): string {
  const seconds = Math.floor(now.getTime() / 1000)
    .toString(16)
    .padStart(8, "0");
  return `${seconds}${randomBytes(4).toString("hex")}`;
}

/** A job id as `newJobId` makes them (and Cortex's 16-hex ids): anything else is not ours. */
export const JOB_ID_PATTERN = /^[0-9a-f]{16}$/;

/** The start of every queue name of one API's jobs (ListQueues' QueueNamePrefix). */
export function jobQueuePrefix(refs: { clusterName: string }, api: string): string {
  const digest = createHash("sha256").update(`${refs.clusterName}/${api}`).digest("hex");
  return `${refs.clusterName}-${digest.slice(0, 8)}-`;
}

/** The job's queue and its dead-letter queue. */
export function jobQueueNames(
  refs: { clusterName: string },
  api: string,
  jobId: string,
): { queue: string; deadLetter: string } {
  const queue = `${jobQueuePrefix(refs, api)}${jobId}`;
  return { queue, deadLetter: `${queue}${DEAD_LETTER_SUFFIX}` };
}

/** Dead-letter queues end so; the task role may not touch them (cluster-template.ts). */
export const DEAD_LETTER_SUFFIX = "-dlq";

/** RunTask's `startedBy` of a job's workers: ListTasks finds them by it. */
export function jobStartedBy(jobId: string): string {
  return `axon-job-${jobId}`;
}

/** The job's status object in the cluster bucket. */
export function jobRecordKey(api: string, jobId: string): string {
  return `${jobRecordPrefix(api)}${jobId}.json`;
}

/** Where every job record of an API is. */
export function jobRecordPrefix(api: string): string {
  return `jobs/${api}/`;
}

/**
 * Where a worker records a batch that failed for good (its last attempt): the error text SQS cannot
 * keep (a dead-lettered message is the batch, not why it failed). `get` shows the first 20.
 */
export function jobFailurePrefix(api: string, jobId: string): string {
  return `${jobRecordPrefix(api)}${jobId}/failures/`;
}

/**
 * The object one worker of a job creates, only if it does not exist yet, to run the predictor's
 * `on_job_complete` (Cortex ran it once, on one worker).
 */
export function jobCompleteKey(api: string, jobId: string): string {
  return `${jobRecordPrefix(api)}${jobId}/job-complete`;
}

/** Keys under the cluster bucket's `jobs/` the task role may write: failures and the claim only. */
export const JOB_WORKER_OBJECTS = ["jobs/*/failures/*", "jobs/*/job-complete"] as const;

/** A failure's error text is cut to this many characters. */
export const MAX_FAILURE_ERROR_CHARS = 4096;
