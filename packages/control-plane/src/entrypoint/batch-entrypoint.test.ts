/**
 * The container's batch mode: its inputs (as RunTask's override sets them) and one run over a job's
 * queue. The queue is the rules fake's SQS (RULES.md R16, R20: redrive and long-poll limits); the
 * loop is the test's own, so that only the container's side is under test here. The whole run —
 * `runBatchJob` with the shared loop and a Python worker, as processes on moto — is
 * test/aws-batch-container.test.ts.
 */
import { describe, expect, it } from "vitest";
import type { BatchSource } from "../batch/batch-source.js";
import { BATCH_ENV } from "../providers/aws/batch-names.js";
import { createJobQueues, queueCounts } from "../providers/aws/batch-queue.js";
import { FakeAws } from "../providers/aws/testing/fake-aws/fake-aws.js";
import {
  BATCH_WAIT_SECONDS_ENV,
  isBatchMode,
  readBatchInputs,
  runBatchContainer,
} from "./batch-entrypoint.js";
import type { SqsBatchSource } from "./sqs-batch-source.js";

const JOB = { job_id: "0123456789abcdef", api_name: "scorer", workers: 1, config: {} };
const ENV = {
  [BATCH_ENV.mode]: "batch",
  [BATCH_ENV.queueUrl]: "https://sqs.us-east-1.amazonaws.com/123456789012/q",
  [BATCH_ENV.job]: JSON.stringify(JOB),
  [BATCH_ENV.maxReceives]: "2",
  [BATCH_ENV.failurePrefix]: "jobs/scorer/0123456789abcdef/failures/",
  AXON_BUNDLE_BUCKET: "axon-bucket",
};

describe("the container's batch inputs", () => {
  it("Given RunTask's override, When read, Then the queue, the job, its receive limit and where failures go come back", () => {
    expect(isBatchMode(ENV)).toBe(true);
    expect(isBatchMode({})).toBe(false);
    expect(readBatchInputs(ENV)).toEqual({
      queueUrl: ENV[BATCH_ENV.queueUrl],
      job: JOB,
      maxReceives: 2,
      failures: { bucket: "axon-bucket", prefix: "jobs/scorer/0123456789abcdef/failures/" },
    });
  });

  it("Given a variable missing or malformed, When read, Then the error names it and who sets it", () => {
    const without = { ...ENV, [BATCH_ENV.queueUrl]: "" };
    expect(() => readBatchInputs(without)).toThrow(
      "AXON_BATCH_QUEUE_URL is not set: a batch worker is started by axon's RunTask, which sets it (submit a job instead of starting the task by hand)",
    );
    expect(() => readBatchInputs({ ...ENV, [BATCH_ENV.job]: "{" })).toThrow(
      /^AXON_BATCH_JOB is not JSON: /,
    );
    expect(() => readBatchInputs({ ...ENV, [BATCH_ENV.job]: "{}" })).toThrow(
      "AXON_BATCH_JOB has no job_id: it is not a job's spec",
    );
    expect(() => readBatchInputs({ ...ENV, [BATCH_ENV.maxReceives]: "0" })).toThrow(
      "AXON_BATCH_MAX_RECEIVES is 0: a whole number of 1 or more",
    );
    expect(() => readBatchInputs({ ...ENV, [BATCH_WAIT_SECONDS_ENV]: "21" })).toThrow(
      "AXON_BATCH_WAIT_SECONDS is 21: a whole number of seconds from 1 to 20",
    );
    expect(readBatchInputs({ ...ENV, [BATCH_WAIT_SECONDS_ENV]: "1" }).waitSeconds).toBe(1);
  });
});

describe("a batch worker's run", () => {
  it("Given a job's queue with two batches and a message that is not one, When the worker runs its loop, Then the loop gets both batches, the bad message is said, and the run ends when the queue is drained", async () => {
    // Given
    const ports = new FakeAws().ports();
    const sqs = ports.sqs;
    const { queueUrl: QueueUrl } = await createJobQueues(
      { ports, target: ports.target, signal: AbortSignal.timeout(5000) },
      {
        names: { queue: "job", deadLetter: "job-dlq" },
        visibilityTimeoutSeconds: 60,
        maxReceiveCount: 2,
        tags: {},
      },
    );
    await sqs.sendMessageBatch({
      QueueUrl,
      Entries: [
        { Id: "0", MessageBody: '{"batch_id":"0","items":[1,2]}' },
        { Id: "x", MessageBody: "garbage" },
        { Id: "1", MessageBody: '{"batch_id":"1","items":[3]}' },
        { Id: "2", MessageBody: '{"batch_id":"2","items":[4]}' },
      ],
    });
    const lines: string[] = [];
    const seen: unknown[] = [];
    const claims: boolean[] = [];
    // The test's loop: lease, run, settle, until null (what the shared loop does); batch 2 raises.
    const runLoop = async (source: BatchSource, _job: unknown, signal: AbortSignal) => {
      for (
        let batch = await source.lease(signal);
        batch !== null;
        batch = await source.lease(signal)
      ) {
        if (batch.batchId === "2") {
          await source.fail(batch, `ValueError: bad item (attempt ${batch.attempt})`);
          continue;
        }
        seen.push(batch.payload);
        await source.succeed(batch, 0);
      }
      // The shared loop asks once the source is drained; a second worker asking later is refused.
      const sqsSource = source as SqsBatchSource;
      claims.push(await sqsSource.claimJobComplete(), await sqsSource.claimJobComplete());
    };
    // When
    await runBatchContainer(
      {
        queueUrl: QueueUrl,
        job: { ...JOB, api_id: "", sqs_url: QueueUrl, created_time: "" },
        maxReceives: 2,
        failures: { bucket: "axon-bucket", prefix: "jobs/scorer/j/failures/" },
      },
      {
        sqs,
        s3: ports.s3,
        log: (line) => lines.push(line),
        runLoop,
        signal: AbortSignal.timeout(5000),
      },
    );
    // Then: the bad message was released twice, then SQS moved it to the dead-letter queue; so was
    // batch 2, whose last failure the worker recorded (SQS keeps no error).
    expect(seen).toEqual([[1, 2], [3]]);
    expect(lines[0]).toBe(`job ${JOB.job_id}: taking batches from ${QueueUrl}`);
    expect(
      lines.some((line) => line.startsWith("message ") && line.includes("is not a batch")),
    ).toBe(true);
    expect(lines.at(-1)).toBe(`job ${JOB.job_id}: no batch left, exiting`);
    expect(claims).toEqual([true, false]);
    const deadLetterUrl = QueueUrl.replace(/job$/, "job-dlq");
    expect(
      await queueCounts(
        { ports, target: ports.target, signal: AbortSignal.timeout(5000) },
        { queueUrl: QueueUrl, deadLetterUrl },
      ),
    ).toEqual({ queued: 0, inFlight: 0, failed: 2 });
    const failure = await ports.s3.getObjectBytes({
      Bucket: "axon-bucket",
      Key: "jobs/scorer/j/failures/2.json",
    });
    expect(JSON.parse(new TextDecoder().decode(failure))).toEqual({
      batch_id: "2",
      attempts: 2,
      error: "ValueError: bad item (attempt 2)",
    });
  });
});
