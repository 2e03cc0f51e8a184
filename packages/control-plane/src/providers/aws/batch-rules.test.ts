/**
 * The AWS rules a batch job relies on (testing/fake-aws/RULES.md R15–R20), on the rules fake —
 * moto 5.2 checks none of them: each rule is shown enforced by the fake, then obeyed by Axon's code.
 * Also the endings moto cannot play (workers that crash, run out of memory, or leave failures).
 */
import { readFileSync } from "node:fs";
import { parseApiConfig, type ApiSpec } from "@axon/config";
import type { BatchJobStatus } from "../../contract/index.js";
import { describe, expect, it } from "vitest";
import { DomainError, JOB_INVALID } from "../../errors.js";
import { SqsBatchSource } from "../../entrypoint/sqs-batch-source.js";
import type { EcsApiDeps } from "./api-names.js";
import {
  BATCH_TOO_MANY_BATCHES,
  MAX_ECS_BATCHES,
  describeEcsJob,
  submitEcsJob,
  type EcsJobRecord,
} from "./batch-jobs.js";
import { deployEcsBatchApi } from "./batch-api.js";
import {
  jobFailurePrefix,
  jobRecordKey,
  MAX_QUEUE_NAME_LENGTH,
  QUEUE_NAME_PATTERN,
  jobQueueNames,
  newJobId,
} from "./batch-names.js";
import { BATCH_TOO_LARGE, createJobQueues, listQueueUrls } from "./batch-queue.js";
import { readFailures } from "./batch-records.js";
import { stopTasks } from "./batch-workers.js";
import { fakeEcsDeps } from "./testing/fake-deps.js";
import { FakeAws } from "./testing/fake-aws/fake-aws.js";
import { FakeAwsError } from "./testing/fake-aws/fake-aws-error.js";

const IRIS_YAML = readFileSync(
  new URL("../../../../../examples/iris-sklearn/axon.yaml", import.meta.url),
  "utf8",
);
/** The longest cluster name the config allows (27) behind `axon-`. */
const CLUSTER = `axon-${"c".repeat(27)}`;

function batchSpec(): ApiSpec {
  const [spec] = parseApiConfig(
    IRIS_YAML.replace("name: iris-classifier", "name: scorer"),
    "axon.yaml",
  ).apis;
  if (spec === undefined) throw new Error("the example has no API");
  return spec;
}

async function harness(): Promise<{ fake: FakeAws; deps: EcsApiDeps }> {
  const fake = new FakeAws();
  const deps = fakeEcsDeps(fake, CLUSTER, {
    loadBalancerDnsName: "lb.us-east-1.elb.amazonaws.com",
    bucketName: "axon-bucket",
  });
  await deployEcsBatchApi(deps, {
    spec: batchSpec(),
    bundleSha256: "e".repeat(64),
    readBundle: () => Promise.resolve(new Uint8Array([1])),
  });
  fake.calls.length = 0;
  return { fake, deps };
}

async function refusal(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a refusal");
}

describe("R15: queue names (API_CreateQueue)", () => {
  it("Given names too long or with a dot, When created, Then the fake refuses them; Given the longest cluster and API names, When Axon names a job's queues, Then they fit and are accepted", async () => {
    const { deps } = await harness();
    const make = (name: string) =>
      createJobQueues(deps, {
        names: { queue: name, deadLetter: `${name.slice(0, 70)}-dlq` },
        visibilityTimeoutSeconds: 30,
        maxReceiveCount: 2,
        tags: {},
      });
    expect(await refusal(make("q".repeat(81)))).toMatchObject({
      cause: expect.objectContaining({ name: "InvalidParameterValue" }) as unknown,
    });
    expect(await refusal(make("has.dot"))).toBeInstanceOf(DomainError);
    const names = jobQueueNames(deps.refs, "a".repeat(63), newJobId(new Date()));
    expect(names.deadLetter.length).toBeLessThanOrEqual(MAX_QUEUE_NAME_LENGTH);
    expect(names.queue).toMatch(QUEUE_NAME_PATTERN);
    expect(names.deadLetter).toMatch(QUEUE_NAME_PATTERN);
    await make(names.queue);
  });
});

describe("R16: visibility timeout and maxReceiveCount", () => {
  it("Given 43,201 s or maxReceiveCount 0 and 1,001, When a queue is created, Then the fake refuses; Given a job's timeout 43,201 or max_retries 1,000, Then Axon refuses before any call; Given 43,200 and 999, Then it runs", async () => {
    const { fake, deps } = await harness();
    const sqs = fake.ports().sqs;
    await expect(
      sqs.createQueue({ QueueName: "q1", Attributes: { VisibilityTimeout: "43201" } }),
    ).rejects.toBeInstanceOf(FakeAwsError);
    for (const count of [0, 1001]) {
      await expect(
        sqs.createQueue({
          QueueName: `q-${count}`,
          Attributes: {
            RedrivePolicy: JSON.stringify({ maxReceiveCount: count, deadLetterTargetArn: "x" }),
          },
        }),
      ).rejects.toBeInstanceOf(FakeAwsError);
    }
    fake.calls.length = 0;
    const items = { items: [1], batch_size: 1 };
    expect(
      await refusal(
        submitEcsJob(deps, "scorer", { workers: 1, item_list: items, timeout: 43_201 }),
      ),
    ).toMatchObject({
      code: JOB_INVALID,
      message: expect.stringMatching(/^timeout is 43201: /) as unknown,
    });
    expect(
      await refusal(
        submitEcsJob(deps, "scorer", { workers: 1, item_list: items, max_retries: 1000 }),
      ),
    ).toMatchObject({
      code: JOB_INVALID,
      message: expect.stringMatching(/^max_retries is 1000: /) as unknown,
    });
    expect(fake.calls).toEqual([]);
    const spec = await submitEcsJob(deps, "scorer", {
      workers: 1,
      item_list: items,
      timeout: 43_200,
      max_retries: 999,
    });
    expect(spec).toMatchObject({ timeout: 43_200, max_retries: 999, total_batch_count: 1 });
  });
});

describe("R17: SendMessageBatch (API_SendMessageBatch)", () => {
  it("Given 11 entries or 1 MiB and a byte, When sent, Then the fake refuses; Given 95 batches of 200 KiB, When a job enqueues them, Then every call holds at most 5 (1 MiB) and all arrive", async () => {
    const { fake, deps } = await harness();
    const sqs = fake.ports().sqs;
    const { QueueUrl } = await sqs.createQueue({ QueueName: "raw" });
    const entries = (n: number, body = "x") =>
      Array.from({ length: n }, (_, index) => ({ Id: String(index), MessageBody: body }));
    await expect(sqs.sendMessageBatch({ QueueUrl, Entries: entries(11) })).rejects.toMatchObject({
      name: "TooManyEntriesInBatchRequest",
    });
    await expect(
      sqs.sendMessageBatch({
        QueueUrl,
        Entries: [...entries(1, "y".repeat(1_048_576)), { Id: "b", MessageBody: "z" }],
      }),
    ).rejects.toMatchObject({ name: "BatchRequestTooLong" });
    fake.calls.length = 0;
    const item = "i".repeat(200 * 1024);
    const spec = await submitEcsJob(deps, "scorer", {
      workers: 1,
      item_list: { items: Array.from({ length: 95 }, () => item), batch_size: 1 },
    });
    expect(spec.total_batch_count).toBe(95);
    expect(fake.calls.filter((call) => call === "sqs:SendMessageBatch")).toHaveLength(19);
    const counts = await describeEcsJob(deps, "scorer", spec.job_id);
    expect(counts.job_status.batches_in_queue).toBe(95);
  });

  it("Given a batch over 256 KiB, When a job is submitted, Then it fails naming the batch and what to do, recorded as failed to enqueue, with no queue left", async () => {
    const { fake, deps } = await harness();
    const error = await refusal(
      submitEcsJob(deps, "scorer", {
        workers: 1,
        item_list: { items: ["a", "b".repeat(300 * 1024)], batch_size: 1 },
      }),
    );
    expect(error).toMatchObject({ code: BATCH_TOO_LARGE, status: 400 });
    expect(error.message).toMatch(
      /^job [0-9a-f]{16} failed to enqueue: batch 1 \(1 items\) is 30\d{4} bytes as JSON/,
    );
    expect(fake.sqs.queueNames()).toEqual([]);
  });
});

describe("R18: tags", () => {
  it("Given 51 tags or a 129-character key, When a queue is created, Then the fake refuses; a job's queues carry four short tags", async () => {
    const { fake, deps } = await harness();
    const sqs = fake.ports().sqs;
    const many = Object.fromEntries(Array.from({ length: 51 }, (_, index) => [`k${index}`, "v"]));
    await expect(sqs.createQueue({ QueueName: "t1", tags: many })).rejects.toBeInstanceOf(
      FakeAwsError,
    );
    await expect(
      sqs.createQueue({ QueueName: "t2", tags: { ["k".repeat(129)]: "v" } }),
    ).rejects.toBeInstanceOf(FakeAwsError);
    const spec = await submitEcsJob(deps, "scorer", {
      workers: 1,
      item_list: { items: [1], batch_size: 1 },
    });
    const tags = await sqs.listQueueTags({ QueueUrl: spec.sqs_url ?? "" });
    expect(tags.Tags).toEqual({
      "axon:cluster": "c".repeat(27),
      "axon:env": "prod",
      "axon:api": "scorer",
      "axon:job": spec.job_id,
    });
  });
});

describe("R19: RunTask (API_RunTask)", () => {
  it("Given count 11 or overrides over 8,192 characters, When run, Then the fake refuses; Given 25 workers, When a job starts, Then three calls start 10, 10 and 5; Given a huge config, Then Axon refuses before any call", async () => {
    const { fake, deps } = await harness();
    const ecs = fake.ports().ecs;
    const network = { awsvpcConfiguration: { subnets: ["subnet-1"] } };
    await expect(
      ecs.runTask({
        cluster: CLUSTER,
        taskDefinition: "x",
        count: 11,
        networkConfiguration: network,
      }),
    ).rejects.toMatchObject({ name: "InvalidParameterException" });
    await expect(
      ecs.runTask({
        cluster: CLUSTER,
        taskDefinition: "x",
        networkConfiguration: network,
        overrides: { containerOverrides: [{ name: "replica", command: ["x".repeat(8200)] }] },
      }),
    ).rejects.toMatchObject({ name: "InvalidParameterException" });
    fake.calls.length = 0;
    const spec = await submitEcsJob(deps, "scorer", {
      workers: 25,
      item_list: { items: Array.from({ length: 30 }, (_, n) => n), batch_size: 1 },
    });
    expect(fake.calls.filter((call) => call === "ecs:RunTask")).toHaveLength(3);
    expect(fake.runningTasks(CLUSTER)).toHaveLength(25);
    expect(
      (await describeEcsJob(deps, "scorer", spec.job_id)).job_status.worker_counts.running,
    ).toBe(25);
    fake.calls.length = 0;
    const error = await refusal(
      submitEcsJob(deps, "scorer", {
        workers: 1,
        item_list: { items: [1], batch_size: 1 },
        config: { blob: "z".repeat(9000) },
      }),
    );
    expect(error).toMatchObject({ code: JOB_INVALID });
    expect(error.message).toMatch(/^config is too large for ECS: .* at most 8192 characters/);
    // Only the API's task definition was read: no queue, no task.
    expect(fake.calls).toEqual(["ecs:DescribeTaskDefinition"]);
  });
});

describe("R20: ReceiveMessage (API_ReceiveMessage)", () => {
  it("Given a 21 s long poll, When received, Then the fake refuses; Given a source asked for 60 s, When it leases, Then it asks for 20", async () => {
    const { fake } = await harness();
    const sqs = fake.ports().sqs;
    const { QueueUrl } = await sqs.createQueue({ QueueName: "r" });
    await expect(sqs.receiveMessage({ QueueUrl, WaitTimeSeconds: 21 })).rejects.toMatchObject({
      name: "InvalidParameterValue",
    });
    await sqs.sendMessageBatch({
      QueueUrl,
      Entries: [{ Id: "1", MessageBody: '{"batch_id":"0","items":[1]}' }],
    });
    const source = new SqsBatchSource({ sqs, queueUrl: QueueUrl ?? "", waitSeconds: 60 });
    expect(await source.lease(AbortSignal.timeout(5000))).toMatchObject({
      batchId: "0",
      attempt: 1,
    });
  });
});

describe("how a job ends on ECS, with workers moto cannot play", () => {
  it("Given one batch failing on both of its attempts, When the rest succeed and the workers exit, Then the job completed with failures, one batch failed", async () => {
    const { fake, deps } = await harness();
    const spec = await submitEcsJob(deps, "scorer", {
      workers: 2,
      item_list: { items: [1, 2, 3], batch_size: 1 },
    });
    // The worker as the container runs it: its last failure of a batch is written for `get`.
    const source = new SqsBatchSource({
      sqs: deps.ports.sqs,
      queueUrl: spec.sqs_url ?? "",
      waitSeconds: 0,
      finalFailure: {
        maxReceives: 2,
        record: async (failure) => {
          await deps.ports.s3.putObject({
            Bucket: deps.refs.bucketName,
            Key: `${jobFailurePrefix("scorer", spec.job_id)}${failure.batch_id}.json`,
            Body: JSON.stringify(failure),
          });
        },
      },
    });
    const signal = AbortSignal.timeout(5000);
    for (
      let batch = await source.lease(signal);
      batch !== null;
      batch = await source.lease(signal)
    ) {
      if (batch.batchId === "1") await source.fail(batch, `predict raised on try ${batch.attempt}`);
      else await source.succeed(batch, 0);
    }
    fake.finishTasks(0);
    const ended = (await describeEcsJob(deps, "scorer", spec.job_id)).job_status;
    expect(ended).toMatchObject({
      status: "status_completed_with_failures",
      batch_metrics: { succeeded: 2, failed: 1 },
      worker_counts: { succeeded: 2 },
      status_message: "1 batch(es) failed after 2 attempt(s)",
      failures: [{ batch_id: "1", attempts: 2, error: "predict raised on try 2" }],
    });
    expect(fake.sqs.queueNames()).toEqual([]);
  });

  it("Given workers that crash with batches left, When described, Then the job ended with a worker error naming why; Given one killed for memory, Then out of memory", async () => {
    const crash = await harness();
    const crashed = await submitEcsJob(crash.deps, "scorer", {
      workers: 2,
      item_list: { items: [1, 2, 3], batch_size: 1 },
    });
    crash.fake.finishTasks(1, "Essential container in task exited");
    const error = (await describeEcsJob(crash.deps, "scorer", crashed.job_id)).job_status;
    expect(error).toMatchObject({
      status: "status_worker_error",
      batches_in_queue: 3,
      worker_counts: { failed: 2 },
      status_message:
        "every worker stopped with 3 batch(es) left: Essential container in task exited",
    });
    expect(crash.fake.sqs.queueNames()).toEqual([]);

    const oom = await harness();
    const killed = await submitEcsJob(oom.deps, "scorer", {
      workers: 1,
      item_list: { items: [1], batch_size: 1 },
    });
    oom.fake.finishTasks(137, "OutOfMemoryError: Container killed due to memory usage");
    expect((await describeEcsJob(oom.deps, "scorer", killed.job_id)).job_status.status).toBe(
      "status_worker_oom",
    );
  });

  it("Given a job whose submitter died while enqueuing (its record still says enqueuing), When described 16 minutes later, Then it failed to enqueue, saying so, and its queues are gone", async () => {
    // Given: what a daemon killed between writing the record and sending the last batch leaves
    const { fake, deps } = await harness();
    const created = new Date("2026-12-07T10:00:00Z");
    const jobId = newJobId(created);
    const queues = await createJobQueues(deps, {
      names: jobQueueNames(deps.refs, "scorer", jobId),
      visibilityTimeoutSeconds: 60,
      maxReceiveCount: 2,
      tags: {},
    });
    const record: EcsJobRecord = {
      job: {
        job_id: jobId,
        api_name: "scorer",
        workers: 1,
        config: {},
        api_id: "x",
        sqs_url: queues.queueUrl,
        created_time: created.toISOString(),
        status: "status_enqueuing",
        batches_in_queue: 0,
        batch_metrics: { succeeded: 0, failed: 0 },
        worker_counts: {
          pending: 0,
          initializing: 0,
          running: 0,
          succeeded: 0,
          failed: 0,
          stalled: 0,
        },
      },
      queues,
      taskArns: [],
    };
    await deps.ports.s3.putObject({
      Bucket: deps.refs.bucketName,
      Key: jobRecordKey("scorer", jobId),
      Body: JSON.stringify(record),
    });
    // When: within 15 minutes it may still be enqueuing; after, it cannot be
    const early = await describeEcsJob(deps, "scorer", jobId, new Date(created.getTime() + 60_000));
    const late = await describeEcsJob(
      deps,
      "scorer",
      jobId,
      new Date(created.getTime() + 16 * 60_000),
    );
    // Then
    expect(early.job_status.status).toBe("status_enqueuing");
    expect(late.job_status).toMatchObject({
      status: "status_enqueue_failed",
      status_message: "its submission was interrupted before every batch was queued",
    });
    expect(fake.sqs.queueNames()).toEqual([]);
  });

  it("Given an identity RunTask refuses, When a job is submitted, Then the error says so with the job id, and the job is recorded failed with no queue left", async () => {
    const { fake, deps } = await harness();
    const denied = {
      ...deps,
      ports: {
        ...deps.ports,
        ecs: {
          ...deps.ports.ecs,
          runTask: () =>
            Promise.reject(new FakeAwsError("AccessDeniedException", "not allowed to ecs:RunTask")),
        },
      },
    };
    const error = await refusal(
      submitEcsJob(denied, "scorer", { workers: 1, item_list: { items: [1], batch_size: 1 } }),
    );
    expect(error).toMatchObject({ code: "provider.aws.access_denied", status: 403 });
    expect(error.message).toMatch(/^job [0-9a-f]{16} failed to start: AWS denied ecs:RunTask/);
    const jobId = /^job ([0-9a-f]{16})/.exec(error.message)?.[1] ?? "";
    expect((await describeEcsJob(deps, "scorer", jobId)).job_status).toMatchObject({
      status: "status_unexpected_error",
      status_message: expect.stringMatching(
        /^its workers could not be started: AWS denied/,
      ) as unknown,
    });
    expect(fake.sqs.queueNames()).toEqual([]);
  });

  it("Given 4 batches of 2 items, 2 of them done, When described 10 s after the start, Then the rate is 0.4 items/s and 2 batches are about 10 s away; once ended, no ETA", async () => {
    const { fake, deps } = await harness();
    const spec = await submitEcsJob(deps, "scorer", {
      workers: 1,
      item_list: { items: [1, 2, 3, 4, 5, 6, 7, 8], batch_size: 2 },
    });
    const source = new SqsBatchSource({
      sqs: deps.ports.sqs,
      queueUrl: spec.sqs_url ?? "",
      waitSeconds: 0,
    });
    const signal = AbortSignal.timeout(5000);
    for (const _ of [1, 2]) {
      const batch = await source.lease(signal);
      if (batch === null) throw new Error("expected a batch");
      await source.succeed(batch, 0);
    }
    const started = Date.parse(
      (await describeEcsJob(deps, "scorer", spec.job_id)).job_status.start_time ?? "",
    );
    const live = (await describeEcsJob(deps, "scorer", spec.job_id, new Date(started + 10_000)))
      .job_status;
    expect(live.items_per_second).toBe(0.4);
    expect(live.eta_seconds).toBe(10);
    for (
      let batch = await source.lease(signal);
      batch !== null;
      batch = await source.lease(signal)
    ) {
      await source.succeed(batch, 0);
    }
    fake.finishTasks(0);
    const ended = (await describeEcsJob(deps, "scorer", spec.job_id, new Date(started + 20_000)))
      .job_status;
    expect(ended).toMatchObject({ status: "status_succeeded", items_per_second: 0.4 });
    expect(ended.eta_seconds).toBeUndefined();
  });

  it("Given 100,001 items in batches of 1, When submitted, Then it is refused with the bound and what to do before any call", async () => {
    const { fake, deps } = await harness();
    const error = await refusal(
      submitEcsJob(deps, "scorer", {
        workers: 1,
        item_list: {
          items: Array.from({ length: MAX_ECS_BATCHES + 1 }, (_, n) => n),
          batch_size: 1,
        },
      }),
    );
    expect(error).toMatchObject({ code: BATCH_TOO_MANY_BATCHES, status: 400 });
    expect(error.message).toBe(
      "item_list makes 100001 batches of 1: a job on ECS has at most 100000",
    );
    expect(fake.calls).toEqual([]);
  });

  it("Given 5 workers asked for a job of 2 batches, When it starts, Then 2 tasks start (one per batch), and the job says why", async () => {
    const { fake, deps } = await harness();
    const spec = await submitEcsJob(deps, "scorer", {
      workers: 5,
      item_list: { items: [1, 2, 3], batch_size: 2 },
    });
    expect(spec.workers).toBe(5);
    expect(fake.runningTasks(CLUSTER)).toHaveLength(2);
    expect((await describeEcsJob(deps, "scorer", spec.job_id)).job_status.status_message).toBe(
      "2 of the 5 workers started: the job has 2 batch(es)",
    );
  });
});

describe("reading a job's failed batches", () => {
  it("Given a failure object listed, When its GetObject finds it gone, Then it is not shown; When GetObject is denied, Then the read fails instead of showing no failures", async () => {
    // Given one failure object of a job in the bucket
    const { deps } = await harness();
    const job = { api_name: "scorer", job_id: newJobId(new Date()) } as BatchJobStatus;
    await deps.ports.s3.putObject({
      Bucket: deps.refs.bucketName,
      Key: `${jobFailurePrefix(job.api_name, job.job_id)}b-000001.json`,
      Body: JSON.stringify({ batch_id: "b-000001", attempts: 2, error: "ValueError: bad" }),
    });
    expect(await readFailures(deps, job)).toEqual([
      { batch_id: "b-000001", attempts: 2, error: "ValueError: bad" },
    ]);

    // When the object is gone between the listing and the read (the job's objects being deleted)
    const gone = withGetObject(
      deps,
      new FakeAwsError("NoSuchKey", "The specified key does not exist."),
    );
    // Then it is not shown
    expect(await readFailures(gone, job)).toEqual([]);

    // When the read is denied, Then that is the answer (not an empty list of failures)
    const denied = withGetObject(deps, new FakeAwsError("AccessDenied", "Access Denied"));
    const error = await refusal(readFailures(denied, job));
    expect(error).toBeInstanceOf(DomainError);
    expect(error.message).toContain("AWS denied s3:GetObject");
  });
});

/** `deps` whose S3 GetObject always fails with `error` (everything else as the fake answers). */
function withGetObject(deps: EcsApiDeps, error: Error): EcsApiDeps {
  return {
    ...deps,
    ports: {
      ...deps.ports,
      s3: { ...deps.ports.s3, getObjectBytes: () => Promise.reject(error) },
    },
  };
}

describe("R26: ListQueues (API_ListQueues)", () => {
  it("Given more than 1,000 queues of a prefix, When listed without MaxResults, Then SQS answers 1,000 and no token; When Axon lists them, Then it sets MaxResults and gets every one", async () => {
    // Given 1,200 job queues of one API
    const { fake, deps } = await harness();
    const prefix = `${CLUSTER}-scorer-`;
    for (let i = 0; i < 1200; i++) {
      await deps.ports.sqs.createQueue({ QueueName: `${prefix}${String(i).padStart(4, "0")}` });
    }
    // When one page is asked for without MaxResults, Then it stops at 1,000 with no token
    const bare = fake.sqs.listQueuesPage({ QueueNamePrefix: prefix });
    expect(bare.QueueUrls).toHaveLength(1000);
    expect(bare.NextToken).toBeUndefined();
    // (and a MaxResults out of range is refused)
    expect(() => fake.sqs.listQueuesPage({ QueueNamePrefix: prefix, MaxResults: 0 })).toThrow(
      /MaxResults/,
    );
    // When Axon lists the API's queues, Then it pages through all of them
    const urls = await listQueueUrls(deps, prefix);
    expect(new Set(urls).size).toBe(1200);
    expect(fake.calls.filter((call) => call === "sqs:ListQueues")).toHaveLength(2);
  });
});

describe("R27: StopTask's reason, and R16 for ChangeMessageVisibility", () => {
  it("Given a reason over 255 characters, When StopTask is called with it, Then the fake refuses; When Axon stops a job's tasks with it, Then it cuts the reason and every task stops; Given a visibility over 12 h, Then ChangeMessageVisibility is refused", async () => {
    const { fake, deps } = await harness();
    await submitEcsJob(deps, "scorer", {
      workers: 2,
      item_list: { items: [1, 2], batch_size: 1 },
    });
    const arns = fake.runningTasks(CLUSTER);
    expect(arns).toHaveLength(2);
    const long = "r".repeat(300);
    await expect(
      fake.ports().ecs.stopTask({ cluster: CLUSTER, task: arns[0], reason: long }),
    ).rejects.toMatchObject({ name: "InvalidParameterException" });

    await stopTasks(deps, arns, long);
    expect(fake.runningTasks(CLUSTER)).toHaveLength(0);

    const { QueueUrl } = await deps.ports.sqs.createQueue({ QueueName: `${CLUSTER}-vis` });
    await expect(
      deps.ports.sqs.changeMessageVisibility({
        QueueUrl,
        ReceiptHandle: "h",
        VisibilityTimeout: 43_201,
      }),
    ).rejects.toMatchObject({ name: "InvalidParameterValue" });
  });
});
