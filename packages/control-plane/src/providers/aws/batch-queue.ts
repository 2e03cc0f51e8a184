/**
 * A job's SQS queues (issue 32): made with the dead-letter queue first (the redrive policy names
 * its ARN), filled with SendMessageBatch in calls of at most 10 entries and 1 MiB, counted from
 * their attributes, and deleted when the job ends. A batch is one message, `{batch_id, items}`; its
 * `batch_id` stays the same across retries (SQS redelivers the same body).
 */
import { DomainError } from "../../errors.js";
import {
  DEAD_LETTER_SUFFIX,
  MAX_BATCH_MESSAGE_BYTES,
  QUEUE_RETENTION_SECONDS,
  SEND_BATCH_MAX_BYTES,
  SEND_BATCH_MAX_ENTRIES,
} from "./batch-names.js";
import { callAws, type AwsCallDeps } from "./cluster-stack.js";
import type { SqsPort } from "./sdk.js";
import { isAwsError } from "./api-deploy.js";
import { AWS_FAILED } from "./aws-errors.js";

/** A batch is larger than one SQS message may be (400): lower batch_size. */
export const BATCH_TOO_LARGE = "batch.batch_too_large";

/** What the queue helpers need: the SQS port and how to call AWS (no cluster). */
export interface QueueDeps extends AwsCallDeps {
  ports: { sqs: SqsPort };
}

/** The body of one queued batch. */
export interface QueuedBatch {
  batch_id: string;
  items: unknown[];
}

export interface JobQueues {
  queueUrl: string;
  deadLetterUrl: string;
}

/** What the queues hold now (SQS's approximate counts: they settle within about a minute). */
export interface QueueCounts {
  /** Waiting to be received (visible or delayed). */
  queued: number;
  /** Received by a worker and not yet deleted or returned. */
  inFlight: number;
  /** Moved to the dead-letter queue after maxReceiveCount receives: failed for good. */
  failed: number;
}

/**
 * Makes the job's dead-letter queue and queue, tagged. The queue's visibility timeout is the job's
 * timeout (a worker holds a batch that long), and after `maxReceiveCount` receives SQS moves a
 * batch to the dead-letter queue
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html:
 * RedrivePolicy `deadLetterTargetArn`, `maxReceiveCount`).
 */
export async function createJobQueues(
  deps: QueueDeps,
  input: {
    names: { queue: string; deadLetter: string };
    visibilityTimeoutSeconds: number;
    maxReceiveCount: number;
    tags: Record<string, string>;
  },
): Promise<JobQueues> {
  const sqs = deps.ports.sqs;
  const retention = String(QUEUE_RETENTION_SECONDS);
  const deadLetter = await callAws(deps, "sqs:CreateQueue", () =>
    sqs.createQueue({
      QueueName: input.names.deadLetter,
      Attributes: { MessageRetentionPeriod: retention },
      tags: input.tags,
    }),
  );
  const deadLetterUrl = deadLetter.QueueUrl ?? "";
  const attributes = await callAws(deps, "sqs:GetQueueAttributes", () =>
    sqs.getQueueAttributes({ QueueUrl: deadLetterUrl, AttributeNames: ["QueueArn"] }),
  );
  const deadLetterArn = attributes.Attributes?.["QueueArn"] ?? "";
  const queue = await callAws(deps, "sqs:CreateQueue", () =>
    sqs.createQueue({
      QueueName: input.names.queue,
      Attributes: {
        VisibilityTimeout: String(input.visibilityTimeoutSeconds),
        MessageRetentionPeriod: retention,
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: deadLetterArn,
          maxReceiveCount: input.maxReceiveCount,
        }),
      },
      tags: input.tags,
    }),
  );
  return { queueUrl: queue.QueueUrl ?? "", deadLetterUrl };
}

/** A batch's message body, checked against the size one message may have. */
export function batchMessage(batch: QueuedBatch): string {
  const body = JSON.stringify(batch);
  const bytes = Buffer.byteLength(body);
  if (bytes > MAX_BATCH_MESSAGE_BYTES) {
    throw new DomainError(
      BATCH_TOO_LARGE,
      `batch ${batch.batch_id} (${batch.items.length} items) is ${bytes} bytes as JSON: a batch is one SQS message of at most ${MAX_BATCH_MESSAGE_BYTES} bytes (256 KiB)`,
      {
        status: 400,
        hint: "lower batch_size, or put large items in S3 and submit their paths (file_path_lister)",
      },
    );
  }
  return body;
}

/**
 * Sends `batches` (numbered from `firstId`) to the queue in SendMessageBatch calls of at most 10
 * entries and 1 MiB in all; an entry SQS refuses is sent again once, then the job fails to enqueue.
 * Returns how many batches were sent.
 */
export async function enqueueBatches(
  deps: QueueDeps,
  queueUrl: string,
  batches: AsyncIterable<unknown[]> | Iterable<unknown[]>,
): Promise<number> {
  let pending: Array<{ id: string; body: string }> = [];
  let pendingBytes = 0;
  let count = 0;
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    await sendEntries(deps, queueUrl, pending);
    pending = [];
    pendingBytes = 0;
  };
  for await (const items of batches) {
    const body = batchMessage({ batch_id: String(count), items });
    const bytes = Buffer.byteLength(body);
    if (pending.length === SEND_BATCH_MAX_ENTRIES || pendingBytes + bytes > SEND_BATCH_MAX_BYTES) {
      await flush();
    }
    pending.push({ id: String(count), body });
    pendingBytes += bytes;
    count += 1;
  }
  await flush();
  return count;
}

async function sendEntries(
  deps: QueueDeps,
  queueUrl: string,
  entries: Array<{ id: string; body: string }>,
): Promise<void> {
  let left = entries;
  for (let attempt = 0; attempt < 2 && left.length > 0; attempt += 1) {
    const output = await callAws(deps, "sqs:SendMessageBatch", () =>
      deps.ports.sqs.sendMessageBatch({
        QueueUrl: queueUrl,
        Entries: left.map(({ id, body }) => ({ Id: id, MessageBody: body })),
      }),
    );
    // A 200 can still refuse some entries: "check for batch errors even when the call returns an
    // HTTP status code of 200" (API_SendMessageBatch).
    const failed = new Set((output.Failed ?? []).map((entry) => entry.Id));
    if (failed.size === 0) return;
    const reasons = (output.Failed ?? []).map((entry) => `${entry.Id}: ${entry.Message ?? ""}`);
    left = left.filter((entry) => failed.has(entry.id));
    if (attempt === 1) {
      throw new DomainError(
        AWS_FAILED,
        `SQS refused ${left.length} batch(es) of the job twice (${reasons.join("; ")})`,
        { status: 502, hint: "submit the job again" },
      );
    }
  }
}

/** The queues' counts now. */
export async function queueCounts(deps: QueueDeps, queues: JobQueues): Promise<QueueCounts> {
  const read = async (url: string): Promise<Record<string, string>> => {
    const output = await callAws(deps, "sqs:GetQueueAttributes", () =>
      deps.ports.sqs.getQueueAttributes({
        QueueUrl: url,
        AttributeNames: [
          "ApproximateNumberOfMessages",
          "ApproximateNumberOfMessagesNotVisible",
          "ApproximateNumberOfMessagesDelayed",
        ],
      }),
    );
    return output.Attributes ?? {};
  };
  const number = (attributes: Record<string, string>, name: string): number =>
    Number(attributes[name] ?? "0") || 0;
  const main = await read(queues.queueUrl);
  const dead = await read(queues.deadLetterUrl);
  return {
    queued:
      number(main, "ApproximateNumberOfMessages") +
      number(main, "ApproximateNumberOfMessagesDelayed"),
    inFlight: number(main, "ApproximateNumberOfMessagesNotVisible"),
    failed:
      number(dead, "ApproximateNumberOfMessages") +
      number(dead, "ApproximateNumberOfMessagesNotVisible"),
  };
}

/** Deletes the queues; a queue already gone is fine (a repeated stop, a finished teardown). */
export async function deleteQueues(deps: QueueDeps, urls: string[]): Promise<void> {
  for (const url of urls) {
    if (url === "") continue;
    try {
      await callAws(deps, "sqs:DeleteQueue", () => deps.ports.sqs.deleteQueue({ QueueUrl: url }));
    } catch (error) {
      if (!isAwsError(error, "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue")) {
        throw error;
      }
    }
  }
}

/** Every queue of `prefix` (an API's jobs), the dead-letter ones included. */
export async function listQueueUrls(deps: QueueDeps, prefix: string): Promise<string[]> {
  return callAws(deps, "sqs:ListQueues", () =>
    deps.ports.sqs.listAllQueueUrls({ QueueNamePrefix: prefix }),
  );
}

/** Whether a queue URL is a dead-letter queue of ours. */
export function isDeadLetterUrl(url: string): boolean {
  return url.endsWith(DEAD_LETTER_SUFFIX);
}
