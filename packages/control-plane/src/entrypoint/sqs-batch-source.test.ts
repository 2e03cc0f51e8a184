/**
 * The container's SQS batch source on a real moto SQS (shared/reference/moto.md). The shared worker
 * loop (`batch/batch-worker.ts`) is built on another branch: until it lands here, these tests drive
 * the source with a tiny loop of their own (`drain` below), which does only what the seam promises
 * a loop does — lease, run, succeed or fail — so they test the source, not a loop.
 */
import { afterAll, describe, expect, it } from "vitest";
import type { BatchSource } from "../batch/batch-source.js";
import {
  createJobQueues,
  enqueueBatches,
  queueCounts,
  type QueueDeps,
} from "../providers/aws/batch-queue.js";
import { connectAws } from "../providers/aws/sdk.js";
import { motoAvailable, startMoto, type MotoServer } from "../providers/aws/testing/moto-server.js";
import { SqsBatchSource, parseBatch } from "./sqs-batch-source.js";

const HAS_MOTO = motoAvailable();
let server: Promise<MotoServer> | undefined;
afterAll(async () => {
  await (await server)?.stop();
});

async function queueDeps(): Promise<QueueDeps> {
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
});
