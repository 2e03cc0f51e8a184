/**
 * The rules fake's SQS, and its RunTask rules (RULES.md R15–R20): the queue calls a batch job
 * makes, with the limits AWS enforces and moto 5.2 does not check, plus enough of a queue (receive
 * counts, visibility, redrive to the dead-letter queue) for a job to be run through it. Time does
 * not pass here: a lease lasts until it is settled or a test calls `expireLeases()`.
 */
import type { RunTaskCommandInput } from "@aws-sdk/client-ecs";
import type { ListQueuesCommandInput, ListQueuesCommandOutput } from "@aws-sdk/client-sqs";
import { allQueueUrls, type SqsPort } from "../../sdk.js";
import { FakeAwsError } from "./fake-aws-error.js";

const ACCOUNT = "123456789012";
const REGION = "us-east-1";

interface FakeMessage {
  id: string;
  body: string;
  receiveCount: number;
  /** Set while a receiver holds it: the receipt handle of the latest receive. */
  receipt?: string;
}

interface FakeQueue {
  name: string;
  url: string;
  arn: string;
  attributes: Record<string, string>;
  tags: Record<string, string>;
  messages: FakeMessage[];
}

/** R15: SQS queue names (API_CreateQueue). */
export function queueNameRefusal(name: string, fifo: boolean): string | undefined {
  const base = fifo ? name.replace(/\.fifo$/, "") : name;
  if (fifo && !name.endsWith(".fifo")) return "A FIFO queue name must end with the .fifo suffix";
  if (name.length > 80 || !/^[A-Za-z0-9_-]+$/.test(base)) {
    return "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length";
  }
  return undefined;
}

/** R16: VisibilityTimeout 0–43200 and the redrive policy's maxReceiveCount 1–1000. */
export function queueAttributeRefusal(attributes: Record<string, string>): string | undefined {
  const visibility = attributes["VisibilityTimeout"];
  if (visibility !== undefined) {
    const value = Number(visibility);
    if (!Number.isInteger(value) || value < 0 || value > 43_200) {
      return `Invalid value for the parameter VisibilityTimeout: ${visibility} (0 to 43200)`;
    }
  }
  const redrive = attributes["RedrivePolicy"];
  if (redrive !== undefined) {
    const policy = JSON.parse(redrive) as { maxReceiveCount?: unknown };
    const count = Number(policy.maxReceiveCount);
    if (!Number.isInteger(count) || count < 1 || count > 1000) {
      return `Value ${String(policy.maxReceiveCount)} for parameter RedrivePolicy is invalid. Reason: Invalid value for maxReceiveCount: ${String(policy.maxReceiveCount)}, valid values are from 1 to 1000 both inclusive.`;
    }
  }
  return undefined;
}

/** R18: at most 50 tags, keys up to 128 characters, values up to 256. */
export function tagsRefusal(tags: Array<[string, string]>): string | undefined {
  if (tags.length > 50) return `Too many tags: ${tags.length} (at most 50)`;
  const long = tags.find(([key, value]) => key.length > 128 || value.length > 256);
  return long === undefined
    ? undefined
    : `Tag ${long[0].slice(0, 40)}… is too long (keys up to 128 characters, values up to 256)`;
}

/** R19: RunTask's count, overrides size, startedBy and awsvpc network (API_RunTask). */
export function runTaskRefusal(input: RunTaskCommandInput): string | undefined {
  const count = input.count ?? 1;
  if (!Number.isInteger(count) || count < 1 || count > 10) {
    return `count must be between 1 and 10 (was ${count})`;
  }
  if (input.overrides !== undefined && JSON.stringify(input.overrides).length > 8192) {
    return "Container Overrides length must be at most 8192";
  }
  if (input.startedBy !== undefined && !/^[A-Za-z0-9_/-]{1,128}$/.test(input.startedBy)) {
    return "startedBy must be up to 128 letters, numbers, hyphens, forward slashes and underscores";
  }
  if (input.networkConfiguration?.awsvpcConfiguration === undefined) {
    return "Network Configuration must be provided when networkMode 'awsvpc' is specified.";
  }
  const tags = (input.tags ?? []).map((tag): [string, string] => [tag.key ?? "", tag.value ?? ""]);
  return tagsRefusal(tags);
}

export class FakeSqs {
  private readonly queues = new Map<string, FakeQueue>();
  private sequence = 0;

  /** Names of the queues that exist. */
  queueNames(): string[] {
    return [...this.queues.values()].map((queue) => queue.name);
  }

  /** Every message held by a receiver becomes visible again (their leases ran out). */
  expireLeases(): void {
    for (const queue of this.queues.values()) {
      for (const message of queue.messages) delete message.receipt;
    }
  }

  /**
   * R26 (API_ListQueues): `MaxResults` is 1–1,000; without it one answer holds at most 1,000
   * queues and no `NextToken`; with it, a `NextToken` while more remain.
   */
  listQueuesPage(input: ListQueuesCommandInput): ListQueuesCommandOutput {
    const max = input.MaxResults;
    if (max !== undefined && (!Number.isInteger(max) || max < 1 || max > 1000)) {
      throw new FakeAwsError(
        "InvalidParameterValue",
        `Value ${max} for parameter MaxResults is invalid. Reason: must be between 1 and 1000.`,
      );
    }
    const urls = [...this.queues.values()]
      .filter((queue) => queue.name.startsWith(input.QueueNamePrefix ?? ""))
      .map((queue) => queue.url);
    const start = input.NextToken === undefined ? 0 : Number(input.NextToken);
    const end = start + (max ?? 1000);
    const more = max !== undefined && end < urls.length;
    return {
      $metadata: {},
      QueueUrls: urls.slice(start, end),
      ...(more ? { NextToken: String(end) } : {}),
    };
  }

  private byUrl(url: string | undefined): FakeQueue {
    const queue = [...this.queues.values()].find((q) => q.url === url);
    if (queue === undefined) {
      throw new FakeAwsError("QueueDoesNotExist", "The specified queue does not exist.");
    }
    return queue;
  }

  private maxReceives(queue: FakeQueue): { count: number; target: FakeQueue } | undefined {
    const redrive = queue.attributes["RedrivePolicy"];
    if (redrive === undefined) return undefined;
    const policy = JSON.parse(redrive) as { maxReceiveCount: number; deadLetterTargetArn: string };
    const target = [...this.queues.values()].find((q) => q.arn === policy.deadLetterTargetArn);
    return target === undefined ? undefined : { count: policy.maxReceiveCount, target };
  }

  /** The port, each call recorded by `call` as the other services' are. */
  port(call: <T>(name: string, body: () => T) => Promise<T>): SqsPort {
    return {
      createQueue: (input) =>
        call("sqs:CreateQueue", () => {
          const name = input.QueueName ?? "";
          const attributes: Record<string, string> = { ...input.Attributes };
          const refusal =
            queueNameRefusal(name, attributes["FifoQueue"] === "true") ??
            queueAttributeRefusal(attributes) ??
            tagsRefusal(Object.entries(input.tags ?? {}));
          if (refusal !== undefined) throw new FakeAwsError("InvalidParameterValue", refusal);
          const existing = this.queues.get(name);
          if (existing !== undefined) return { $metadata: {}, QueueUrl: existing.url };
          const queue: FakeQueue = {
            name,
            url: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${name}`,
            arn: `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}`,
            attributes,
            tags: { ...input.tags },
            messages: [],
          };
          this.queues.set(name, queue);
          return { $metadata: {}, QueueUrl: queue.url };
        }),
      getQueueUrl: (input) =>
        call("sqs:GetQueueUrl", () => {
          const queue = this.queues.get(input.QueueName ?? "");
          if (queue === undefined) {
            throw new FakeAwsError("QueueDoesNotExist", "The specified queue does not exist.");
          }
          return { $metadata: {}, QueueUrl: queue.url };
        }),
      getQueueAttributes: (input) =>
        call("sqs:GetQueueAttributes", () => {
          const queue = this.byUrl(input.QueueUrl);
          const visible = queue.messages.filter((m) => m.receipt === undefined).length;
          return {
            $metadata: {},
            Attributes: {
              ...queue.attributes,
              QueueArn: queue.arn,
              ApproximateNumberOfMessages: String(visible),
              ApproximateNumberOfMessagesNotVisible: String(queue.messages.length - visible),
              ApproximateNumberOfMessagesDelayed: "0",
            },
          };
        }),
      // R26: one ListQueues page as SQS answers it; Axon's own paging loop runs over it.
      listAllQueueUrls: (input) =>
        allQueueUrls((page) => call("sqs:ListQueues", () => this.listQueuesPage(page)), input),
      listQueueTags: (input) =>
        call("sqs:ListQueueTags", () => ({ $metadata: {}, Tags: this.byUrl(input.QueueUrl).tags })),
      sendMessageBatch: (input) =>
        call("sqs:SendMessageBatch", () => {
          const queue = this.byUrl(input.QueueUrl);
          const entries = input.Entries ?? [];
          // R17 (API_SendMessageBatch): 1–10 entries, distinct ids, 1 MiB in all.
          if (entries.length === 0) {
            throw new FakeAwsError(
              "EmptyBatchRequest",
              "The batch request doesn't contain any entries.",
            );
          }
          if (entries.length > 10) {
            throw new FakeAwsError(
              "TooManyEntriesInBatchRequest",
              `Maximum number of entries per request are 10. You have sent ${entries.length}.`,
            );
          }
          if (new Set(entries.map((entry) => entry.Id)).size !== entries.length) {
            throw new FakeAwsError(
              "BatchEntryIdsNotDistinct",
              "Two or more batch entries in the request have the same Id.",
            );
          }
          const total = entries.reduce(
            (sum, entry) => sum + Buffer.byteLength(entry.MessageBody ?? ""),
            0,
          );
          if (total > 1_048_576) {
            throw new FakeAwsError(
              "BatchRequestTooLong",
              `Batch requests cannot be longer than 1048576 bytes. You have sent ${total} bytes.`,
            );
          }
          for (const entry of entries) {
            this.sequence += 1;
            queue.messages.push({
              id: `m-${this.sequence}`,
              body: entry.MessageBody ?? "",
              receiveCount: 0,
            });
          }
          return {
            $metadata: {},
            Successful: entries.map((entry) => ({
              Id: entry.Id ?? "",
              MessageId: `m-${entry.Id ?? ""}`,
              MD5OfMessageBody: "",
            })),
            Failed: [],
          };
        }),
      receiveMessage: (input) =>
        call("sqs:ReceiveMessage", () => {
          // R20 (API_ReceiveMessage): 1–10 messages, a long poll of at most 20 s.
          const max = input.MaxNumberOfMessages ?? 1;
          if (
            max < 1 ||
            max > 10 ||
            (input.WaitTimeSeconds ?? 0) > 20 ||
            (input.WaitTimeSeconds ?? 0) < 0
          ) {
            throw new FakeAwsError(
              "InvalidParameterValue",
              "MaxNumberOfMessages must be 1 to 10 and WaitTimeSeconds 0 to 20",
            );
          }
          const queue = this.byUrl(input.QueueUrl);
          const redrive = this.maxReceives(queue);
          const out = [];
          // A copy: a message past maxReceiveCount is moved out while this walks the queue.
          for (const message of queue.messages.slice()) {
            if (out.length >= max) break;
            if (message.receipt !== undefined) continue;
            // R16: past maxReceiveCount, the message moves to the dead-letter queue instead.
            if (redrive !== undefined && message.receiveCount >= redrive.count) {
              queue.messages.splice(queue.messages.indexOf(message), 1);
              redrive.target.messages.push({ ...message, receiveCount: 0 });
              continue;
            }
            message.receiveCount += 1;
            this.sequence += 1;
            message.receipt = `r-${message.id}-${this.sequence}`;
            out.push({
              MessageId: message.id,
              ReceiptHandle: message.receipt,
              Body: message.body,
              Attributes: { ApproximateReceiveCount: String(message.receiveCount) },
            });
          }
          return { $metadata: {}, Messages: out };
        }),
      deleteMessage: (input) =>
        call("sqs:DeleteMessage", () => {
          const queue = this.byUrl(input.QueueUrl);
          // An old receipt handle "succeeds, but the message will not be deleted" (API_DeleteMessage).
          queue.messages = queue.messages.filter((m) => m.receipt !== input.ReceiptHandle);
          return {};
        }),
      changeMessageVisibility: (input) =>
        call("sqs:ChangeMessageVisibility", () => {
          // R16: the same 0–43,200 s range as the queue's VisibilityTimeout (API_ChangeMessageVisibility).
          const seconds = input.VisibilityTimeout ?? -1;
          if (!Number.isInteger(seconds) || seconds < 0 || seconds > 43_200) {
            throw new FakeAwsError(
              "InvalidParameterValue",
              `Value ${seconds} for parameter VisibilityTimeout is invalid. Reason: must be between 0 and 43200.`,
            );
          }
          const queue = this.byUrl(input.QueueUrl);
          const message = queue.messages.find((m) => m.receipt === input.ReceiptHandle);
          if (message === undefined) {
            throw new FakeAwsError(
              "MessageNotInflight",
              "The message referred to isn't in flight.",
            );
          }
          if ((input.VisibilityTimeout ?? 0) === 0) delete message.receipt;
          return {};
        }),
      deleteQueue: (input) =>
        call("sqs:DeleteQueue", () => {
          this.queues.delete(this.byUrl(input.QueueUrl).name);
          return {};
        }),
    };
  }
}
