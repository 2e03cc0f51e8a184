/**
 * The ECS container's `BatchSource` (issue 32): a job's batches from its SQS queue, for the worker
 * loop that is the same code on both engines (`batch/batch-source.ts`).
 *
 * - `lease` long-polls ReceiveMessage for one message (MaxNumberOfMessages 1: a worker holds one
 *   batch at a time, and an idle worker never sits on a batch another could run). The lease is the
 *   queue's visibility timeout (the job's `timeout`); `attempt` is the message's
 *   ApproximateReceiveCount. An empty receive is not the end of the job: other workers may hold
 *   batches that come back. It ends (`null`) when the queue's counts say nothing is waiting, in
 *   flight or delayed.
 * - `succeed` deletes the message. SQS only deletes with the latest receipt handle; an older one
 *   "succeeds, but the message will not be deleted" — a late answer from a lease that ran out is
 *   dropped, as the seam requires
 *   (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_DeleteMessage.html).
 * - `fail` makes the message visible again at once (ChangeMessageVisibility 0,
 *   https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html);
 *   after maxReceiveCount receives SQS moves it to the dead-letter queue by itself, which is where
 *   the job's failed count comes from. A worker killed mid-batch settles nothing: the message comes
 *   back when its visibility timeout runs out.
 *
 * ReceiveMessage waits at most 20 s per call ("WaitTimeSeconds … The maximum is 20",
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html).
 */
import type { BatchSource, LeasedBatch } from "../batch/batch-source.js";
import type { SqsPort } from "../providers/aws/sdk.js";

/** The SQS calls a worker makes (the task role allows these on the job's queue only). */
export type WorkerSqsPort = Pick<
  SqsPort,
  "receiveMessage" | "deleteMessage" | "changeMessageVisibility" | "getQueueAttributes"
>;

export interface SqsBatchSourceOptions {
  sqs: WorkerSqsPort;
  queueUrl: string;
  /** Long-poll seconds per ReceiveMessage (default 20, SQS's most). */
  waitSeconds?: number;
  /** A message whose body is not a batch: said, then left to the dead-letter queue. */
  onBadMessage?: (messageId: string, reason: string) => void;
  /**
   * The queue's maxReceiveCount and where a batch's last failure is recorded: SQS moves the batch
   * to the dead-letter queue but keeps no error, so the worker writes it before releasing it.
   */
  finalFailure?: {
    maxReceives: number;
    record: (failure: { batch_id: string; attempts: number; error: string }) => Promise<void>;
  };
  /**
   * Claims the job's `on_job_complete` for this worker: true for exactly one caller, ever (an S3
   * object created only if absent). Absent: no worker runs it.
   */
  claimJobComplete?: () => Promise<boolean>;
}

/** The most a long poll waits (API_ReceiveMessage). */
export const MAX_WAIT_SECONDS = 20;

export class SqsBatchSource implements BatchSource {
  readonly #options: SqsBatchSourceOptions;

  constructor(options: SqsBatchSourceOptions) {
    this.#options = options;
  }

  async lease(signal: AbortSignal): Promise<LeasedBatch | null> {
    const { sqs, queueUrl } = this.#options;
    while (!signal.aborted) {
      let output;
      try {
        output = await sqs.receiveMessage(
          {
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 1,
            WaitTimeSeconds: Math.min(
              MAX_WAIT_SECONDS,
              this.#options.waitSeconds ?? MAX_WAIT_SECONDS,
            ),
            MessageSystemAttributeNames: ["ApproximateReceiveCount"],
          },
          { abortSignal: signal },
        );
      } catch (error) {
        if (signal.aborted) return null;
        throw error;
      }
      const message = output.Messages?.[0];
      if (message === undefined) {
        if (await this.#drained()) return null;
        continue;
      }
      const leaseId = message.ReceiptHandle ?? "";
      const attempt = Number(message.Attributes?.["ApproximateReceiveCount"] ?? "1") || 1;
      const batch = parseBatch(message.Body ?? "");
      if (typeof batch === "string") {
        this.#options.onBadMessage?.(message.MessageId ?? "", batch);
        await this.#release(leaseId);
        continue;
      }
      return { batchId: batch.batch_id, payload: batch.items, attempt, leaseId };
    }
    return null;
  }

  async succeed(batch: LeasedBatch, _seconds: number): Promise<void> {
    try {
      await this.#options.sqs.deleteMessage({
        QueueUrl: this.#options.queueUrl,
        ReceiptHandle: batch.leaseId,
      });
    } catch (error) {
      // The lease ran out and the batch went to another worker: its answer is the one kept.
      if (!isExpiredLease(error)) throw error;
    }
  }

  async fail(batch: LeasedBatch, error: string): Promise<void> {
    const final = this.#options.finalFailure;
    if (final !== undefined && batch.attempt >= final.maxReceives) {
      await final.record({ batch_id: batch.batchId, attempts: batch.attempt, error });
    }
    await this.#release(batch.leaseId);
  }

  /**
   * The worker holding `batch` died: visible again now rather than when its lease runs out. SQS
   * keeps counting the delivery (ApproximateReceiveCount), as the seam asks.
   */
  async release(batch: LeasedBatch, _reason: string): Promise<void> {
    await this.#release(batch.leaseId);
  }

  /** Visible again now: the next receive retries it, or SQS moves it to the dead-letter queue. */
  async #release(leaseId: string): Promise<void> {
    try {
      await this.#options.sqs.changeMessageVisibility({
        QueueUrl: this.#options.queueUrl,
        ReceiptHandle: leaseId,
        VisibilityTimeout: 0,
      });
    } catch (error) {
      if (!isExpiredLease(error)) throw error;
    }
  }

  /**
   * True for exactly one worker of the job, once every batch is settled (none waiting or in
   * flight: each succeeded or is in the dead-letter queue).
   */
  async claimJobComplete(): Promise<boolean> {
    const claim = this.#options.claimJobComplete;
    if (claim === undefined || !(await this.#drained())) return false;
    return claim();
  }

  /** Nothing waiting, in flight or delayed: the job has no batch left to give. */
  async #drained(): Promise<boolean> {
    const output = await this.#options.sqs.getQueueAttributes({
      QueueUrl: this.#options.queueUrl,
      AttributeNames: [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
      ],
    });
    const attributes: Record<string, string> = output.Attributes ?? {};
    return (
      [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
      ]
        .map((name) => Number(attributes[name] ?? "0") || 0)
        .reduce((a, b) => a + b, 0) === 0
    );
  }
}

/** A queued batch's body (`batch-queue.ts` writes it), or why it is not one. */
export function parseBatch(body: string): { batch_id: string; items: unknown[] } | string {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    return `the message is not JSON (${(error as Error).message})`;
  }
  const batch = value as { batch_id?: unknown; items?: unknown };
  if (typeof value !== "object" || value === null || typeof batch.batch_id !== "string") {
    return "the message has no batch_id";
  }
  if (!Array.isArray(batch.items)) return `batch ${batch.batch_id} has no items list`;
  return { batch_id: batch.batch_id, items: batch.items };
}

/** SQS's answers for a receipt handle that no longer holds the message. */
function isExpiredLease(error: unknown): boolean {
  const name = error instanceof Error ? error.name : "";
  return [
    "ReceiptHandleIsInvalid",
    "MessageNotInflight",
    "InvalidParameterValue",
    "AWS.SimpleQueueService.MessageNotInflight",
  ].includes(name);
}
