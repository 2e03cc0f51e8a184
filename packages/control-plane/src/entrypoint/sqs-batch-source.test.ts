/**
 * The container's SQS batch source on a real moto SQS (shared/reference/moto.md). The shared worker
 * loop (`batch/batch-worker.ts`) is built on another branch: until it lands here, these tests drive
 * the source with a tiny loop of their own (`drain` below), which does only what the seam promises
 * a loop does — lease, run, succeed or fail — so they test the source, not a loop.
 */
import { spawn } from "node:child_process";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, describe, expect, it, onTestFinished } from "vitest";
import { TS_SOURCES_PRELUDE } from "../testing/ts-child.js";
import type { BatchSource } from "../batch/batch-source.js";
import {
  createJobQueues,
  enqueueBatches,
  queueCounts,
  type QueueDeps,
} from "../providers/aws/batch-queue.js";
import { connectAws, type AwsPorts } from "../providers/aws/sdk.js";
import { motoAvailable, startMoto, type MotoServer } from "../providers/aws/testing/moto-server.js";
import { SqsBatchSource, parseBatch } from "./sqs-batch-source.js";

const HAS_MOTO = motoAvailable();
let server: Promise<MotoServer> | undefined;
afterAll(async () => {
  await (await server)?.stop();
});

async function queueDeps(): Promise<QueueDeps & { ports: AwsPorts }> {
  server ??= startMoto();
  const ports = await connectAws("us-east-1", (await server).awsEnv());
  return { ports, target: ports.target, signal: AbortSignal.timeout(60_000) };
}

/** The test's own worker loop: every batch leased is run by `run` and settled by what it does. */
async function drain(
  source: BatchSource,
  run: (batchId: string, attempt: number, payload: unknown[]) => void,
): Promise<void> {
  const signal = AbortSignal.timeout(60_000);
  for (
    let leased = await source.lease(signal);
    leased !== null;
    leased = await source.lease(signal)
  ) {
    try {
      run(leased.batchId, leased.attempt, leased.payload);
      await source.succeed(leased, 0);
    } catch (error) {
      await source.fail(leased, (error as Error).message);
    }
  }
}

describe("a queued batch's body", () => {
  it("Given bodies that are not batches, When parsed, Then each says why", () => {
    expect(parseBatch('{"batch_id":"3","items":[1]}')).toEqual({ batch_id: "3", items: [1] });
    expect(parseBatch("{")).toMatch(/^the message is not JSON/);
    expect(parseBatch('{"items":[]}')).toBe("the message has no batch_id");
    expect(parseBatch('{"batch_id":"4"}')).toBe("batch 4 has no items list");
  });
});

describe.skipIf(!HAS_MOTO)("SqsBatchSource on moto (skipped when python3 has no moto)", () => {
  it("Given 5 batches, max_retries 1 and a predictor that always raises on batch 3, When two workers drain the queue, Then the others succeed once, batch 3 is tried twice and ends in the dead-letter queue", async () => {
    // Given
    const deps = await queueDeps();
    const queues = await createJobQueues(deps, {
      names: {
        queue: "axon-t-aaaaaaaa-0000000000000001",
        deadLetter: "axon-t-aaaaaaaa-0000000000000001-dlq",
      },
      visibilityTimeoutSeconds: 30,
      maxReceiveCount: 2,
      tags: { "axon:api": "t", "axon:job": "0000000000000001" },
    });
    const sent = await enqueueBatches(deps, queues.queueUrl, [[1, 2], [3, 4], [5, 6], [7, 8], [9]]);
    expect(sent).toBe(5);
    const source = new SqsBatchSource({
      sqs: deps.ports.sqs,
      queueUrl: queues.queueUrl,
      waitSeconds: 1,
    });
    const runs: string[] = [];
    const items: unknown[] = [];
    // When
    const worker = (): Promise<void> =>
      drain(source, (batchId, attempt, payload) => {
        runs.push(`${batchId}#${attempt}`);
        if (batchId === "3") throw new Error("predict raised");
        items.push(...payload);
      });
    await Promise.all([worker(), worker()]);
    // Then
    expect(runs.filter((run) => run.startsWith("3#")).sort()).toEqual(["3#1", "3#2"]);
    expect(runs.filter((run) => !run.startsWith("3#")).sort()).toEqual([
      "0#1",
      "1#1",
      "2#1",
      "4#1",
    ]);
    expect(items.sort((a, b) => Number(a) - Number(b))).toEqual([1, 2, 3, 4, 5, 6, 9]);
    expect(await queueCounts(deps, queues)).toEqual({ queued: 0, inFlight: 0, failed: 1 });
  });

  it("Given a worker that leased a batch and died, When its lease runs out, Then the batch is given again as attempt 2", async () => {
    // Given: a 1 s lease, never settled (a kill -9 settles nothing)
    const deps = await queueDeps();
    const queues = await createJobQueues(deps, {
      names: {
        queue: "axon-t-bbbbbbbb-0000000000000002",
        deadLetter: "axon-t-bbbbbbbb-0000000000000002-dlq",
      },
      visibilityTimeoutSeconds: 1,
      maxReceiveCount: 3,
      tags: {},
    });
    await enqueueBatches(deps, queues.queueUrl, [["only"]]);
    const source = new SqsBatchSource({
      sqs: deps.ports.sqs,
      queueUrl: queues.queueUrl,
      waitSeconds: 2,
    });
    const first = await source.lease(AbortSignal.timeout(30_000));
    expect(first).toMatchObject({ batchId: "0", attempt: 1, payload: ["only"] });
    // When: another worker asks (the long poll outlasts the lease)
    const second = await source.lease(AbortSignal.timeout(30_000));
    // Then
    expect(second).toMatchObject({ batchId: "0", attempt: 2, payload: ["only"] });
    if (second === null) throw new Error("expected the batch again");
    await source.succeed(second, 0);
    expect(await source.lease(AbortSignal.timeout(30_000))).toBeNull();
    expect(await queueCounts(deps, queues)).toEqual({ queued: 0, inFlight: 0, failed: 0 });
  });

  it("Given a worker that died holding a batch, When the loop releases it, Then it is given again at once, its delivery still counted", async () => {
    const deps = await queueDeps();
    const queues = await createJobQueues(deps, {
      names: {
        queue: "axon-t-eeeeeeee-0000000000000005",
        deadLetter: "axon-t-eeeeeeee-0000000000000005-dlq",
      },
      visibilityTimeoutSeconds: 600,
      maxReceiveCount: 3,
      tags: {},
    });
    await enqueueBatches(deps, queues.queueUrl, [["x"]]);
    const source = new SqsBatchSource({
      sqs: deps.ports.sqs,
      queueUrl: queues.queueUrl,
      waitSeconds: 1,
    });
    const held = await source.lease(AbortSignal.timeout(30_000));
    if (held === null) throw new Error("expected a batch");
    await source.release(held, "killed by SIGKILL");
    // Without the release the batch would be invisible for 600 s.
    expect(await source.lease(AbortSignal.timeout(30_000))).toMatchObject({
      batchId: "0",
      attempt: 2,
    });
  });

  it("Given a message that is not a batch, When leased, Then it is said and released, not handed to the loop", async () => {
    const deps = await queueDeps();
    const queues = await createJobQueues(deps, {
      names: {
        queue: "axon-t-cccccccc-0000000000000003",
        deadLetter: "axon-t-cccccccc-0000000000000003-dlq",
      },
      visibilityTimeoutSeconds: 30,
      maxReceiveCount: 1,
      tags: {},
    });
    await deps.ports.sqs.sendMessageBatch({
      QueueUrl: queues.queueUrl,
      Entries: [{ Id: "x", MessageBody: "not json" }],
    });
    const bad: string[] = [];
    const source = new SqsBatchSource({
      sqs: deps.ports.sqs,
      queueUrl: queues.queueUrl,
      waitSeconds: 1,
      onBadMessage: (_id, reason) => bad.push(reason),
    });
    expect(await source.lease(AbortSignal.timeout(30_000))).toBeNull();
    expect(bad).toHaveLength(1);
    expect(await queueCounts(deps, queues)).toEqual({ queued: 0, inFlight: 0, failed: 1 });
  });

  it("Given a worker process that leased a batch, When it is killed with SIGKILL mid-batch, Then no batch is lost: the next worker gets it as attempt 2 and the job drains", async () => {
    // Given: two batches, a 2 s lease, and a real worker process (the TS sources, type-stripped)
    const deps = await queueDeps();
    const queues = await createJobQueues(deps, {
      names: {
        queue: "axon-t-dddddddd-0000000000000004",
        deadLetter: "axon-t-dddddddd-0000000000000004-dlq",
      },
      visibilityTimeoutSeconds: 2,
      maxReceiveCount: 3,
      tags: {},
    });
    await enqueueBatches(deps, queues.queueUrl, [["a"], ["b"]]);
    if (server === undefined) throw new Error("queueDeps() starts moto");
    const moto = await server;
    const script = `
      ${TS_SOURCES_PRELUDE}
      const { connectAws } = await import(${JSON.stringify(new URL("../providers/aws/sdk.ts", import.meta.url).href)});
      const { SqsBatchSource } = await import(${JSON.stringify(new URL("./sqs-batch-source.ts", import.meta.url).href)});
      const { sqs } = await connectAws("us-east-1", JSON.parse(process.argv[1]));
      const source = new SqsBatchSource({ sqs, queueUrl: process.argv[2], waitSeconds: 1 });
      const batch = await source.lease(AbortSignal.timeout(30_000));
      console.log(JSON.stringify(batch));
      // Mid-batch for ever: predict() never returns, the lease is never settled.
      setInterval(() => {}, 1000);
    `;
    const child = spawn(
      process.execPath,
      ["--input-type=module", "-e", script, JSON.stringify(moto.awsEnv()), queues.queueUrl],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    onTestFinished(() => {
      if (child.exitCode === null) child.kill("SIGKILL");
    });
    const leased = await new Promise<{ batchId: string; attempt: number }>((resolve, reject) => {
      let out = "";
      let err = "";
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes("\n")) resolve(JSON.parse(out) as { batchId: string; attempt: number });
      });
      child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
      child.once("exit", (code) =>
        reject(new Error(`the worker exited (${String(code)}): ${err}`)),
      );
    });
    expect(leased.attempt).toBe(1);
    // When: kill -9, by its pid
    const exited = new Promise((resolve) => child.once("exit", resolve));
    process.kill(child.pid ?? -1, "SIGKILL");
    await exited;
    // Then: another worker drains the queue, the killed worker's batch among them, as attempt 2
    const source = new SqsBatchSource({
      sqs: deps.ports.sqs,
      queueUrl: queues.queueUrl,
      waitSeconds: 3,
    });
    const runs: string[] = [];
    await drain(source, (batchId, attempt) => runs.push(`${batchId}#${attempt}`));
    expect(runs.sort()).toEqual(
      [`${leased.batchId}#2`, `${leased.batchId === "0" ? "1" : "0"}#1`].sort(),
    );
    expect(await queueCounts(deps, queues)).toEqual({ queued: 0, inFlight: 0, failed: 0 });
  });

  it("Given two workers of a job, When they claim on_job_complete, Then neither can while a batch is left, and exactly one can once all are settled (an S3 create-if-absent on moto)", async () => {
    // Given
    const deps = await queueDeps();
    const s3 = new S3Client({
      region: "us-east-1",
      endpoint: (await server)?.url ?? "",
      forcePathStyle: true,
      credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
    });
    await s3.send(new CreateBucketCommand({ Bucket: "claims" }));
    s3.destroy();
    const queues = await createJobQueues(deps, {
      names: {
        queue: "axon-t-ffffffff-0000000000000006",
        deadLetter: "axon-t-ffffffff-0000000000000006-dlq",
      },
      visibilityTimeoutSeconds: 30,
      maxReceiveCount: 2,
      tags: {},
    });
    await enqueueBatches(deps, queues.queueUrl, [["only"]]);
    const claim = async (): Promise<boolean> => {
      try {
        await deps.ports.s3.putObject({
          Bucket: "claims",
          Key: "jobs/t/j/job-complete",
          Body: "x",
          IfNoneMatch: "*",
        });
        return true;
      } catch (error) {
        if ((error as Error).name === "PreconditionFailed") return false;
        throw error;
      }
    };
    const workers = [1, 2].map(
      () =>
        new SqsBatchSource({
          sqs: deps.ports.sqs,
          queueUrl: queues.queueUrl,
          waitSeconds: 1,
          claimJobComplete: claim,
        }),
    );
    const [first, second] = workers as [SqsBatchSource, SqsBatchSource];
    // When a batch is left
    expect(await first.claimJobComplete()).toBe(false);
    const batch = await first.lease(AbortSignal.timeout(30_000));
    if (batch === null) throw new Error("expected the batch");
    expect(await second.claimJobComplete()).toBe(false);
    await first.succeed(batch, 0);
    // Then, all settled: both ask at once, one wins
    const claims = await Promise.all([first.claimJobComplete(), second.claimJobComplete()]);
    expect(claims.filter((won) => won)).toHaveLength(1);
  });
});
