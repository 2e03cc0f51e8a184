/**
 * The batch worker loop against real parts: the durable queue on a SQLite file, real Python
 * worker processes in batch mode (the example project's predictor), and a real kill -9.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { runBatchWorker, type BatchWorkerSummary } from "./batch-worker.js";
import { BatchJobStore, type BatchApiRecord } from "./job-store.js";
import { jobQueueSource } from "./job-queue-source.js";
import { PythonBatchWorker } from "./python-batch-worker.js";

const PYTHON = process.env.AXON_TEST_PYTHON ?? "python3";
const EXAMPLE = path.resolve(import.meta.dirname, "../../../../examples/batch-text-stats");

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Harness {
  store: BatchJobStore;
  results: string;
  workers: PythonBatchWorker[];
  run(count: number): Promise<BatchWorkerSummary[]>;
}

/** A job of `items` in batches of `batchSize`, and a way to run `count` workers on it. */
function harness(
  items: string[],
  batchSize: number,
  config: Record<string, unknown>,
  maxRetries = 1,
): Harness {
  const dir = mkdtempSync(path.join(tmpdir(), "axon-batch-worker-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const store = BatchJobStore.open(path.join(dir, "state.db"));
  cleanups.push(() => store.close());
  const results = path.join(dir, "results");
  const api = { name: "text-stats" } as BatchApiRecord;
  const batches: string[][] = [];
  for (let i = 0; i < items.length; i += batchSize) batches.push(items.slice(i, i + batchSize));
  const spec = {
    job_id: "j-test",
    api_name: "text-stats",
    workers: 2,
    config: {},
    api_id: "v-1",
    sqs_url: null,
    created_time: new Date().toISOString(),
    total_batch_count: batches.length,
    max_retries: maxRetries,
    timeout: 60,
  };
  store.createJob(
    {
      spec,
      api: { ...api, spec: { kind: "BatchAPI" } } as BatchApiRecord,
      status: "status_running",
      statusMessage: null,
      stopRequested: false,
      startTime: spec.created_time,
      endTime: null,
      totalItems: items.length,
    },
    batches,
  );
  const workers: PythonBatchWorker[] = [];
  const signal = new AbortController();
  cleanups.push(() => signal.abort());
  return {
    store,
    results,
    workers,
    run: (count) =>
      Promise.all(
        Array.from({ length: count }, (_, index) => {
          const worker = new PythonBatchWorker({
            id: `t${process.pid % 1000}-${index}`,
            apiName: "text-stats",
            projectDir: EXAMPLE,
            predictorPath: "predictor.py",
            env: {},
            python: PYTHON,
            runDir: path.join(dir, "run"),
            logFile: path.join(dir, "job.log"),
            config: { results_dir: results, ...config },
            jobSpec: spec,
            batchTimeoutMs: 60_000,
          });
          workers.push(worker);
          cleanups.push(() => worker.close());
          worker.start();
          return runBatchWorker({
            source: jobQueueSource(store, "j-test", { leaseSeconds: 60 }),
            predictor: worker,
            signal: signal.signal,
          });
        }),
      ),
  };
}

function recordedBatches(results: string): string[] {
  const log = path.join(results, "j-test", "batches.log");
  return existsSync(log) ? readFileSync(log, "utf8").split("\n").filter(Boolean) : [];
}

describe("runBatchWorker with Python batch workers", () => {
  it("Given 2 workers and 7 items in batches of 2, When they drain the job, Then every batch is done once and on_job_complete runs on one worker", async () => {
    // Given a job of 4 batches
    const job = harness(["a b", "c", "d e f", "g", "h i", "j", "k"], 2, {});
    // When 2 workers run it
    const summaries = await job.run(2);
    // Then 4 batches succeeded in total, each written once, and one worker ran on_job_complete
    expect(summaries.reduce((sum, s) => sum + s.succeeded, 0)).toBe(4);
    expect(recordedBatches(job.results).sort()).toEqual([
      "b-000000",
      "b-000001",
      "b-000002",
      "b-000003",
    ]);
    expect(summaries.filter((s) => s.ranJobComplete)).toHaveLength(1);
    const summary = JSON.parse(
      readFileSync(path.join(job.results, "j-test", "summary.json"), "utf8"),
    );
    expect(summary).toEqual({ job_id: "j-test", batches: 4 });
    const first = JSON.parse(
      readFileSync(path.join(job.results, "j-test", "b-000000.json"), "utf8"),
    );
    expect(first).toEqual([
      { text: "a b", words: 2, chars: 3 },
      { text: "c", words: 1, chars: 1 },
    ]);
  });

  it("Given a batch that raises, When the job runs with max_retries 1, Then it is tried twice and recorded failed with its error", async () => {
    // Given an item the predictor refuses
    const job = harness(["ok", "bad", "fine"], 1, { fail_on: "bad" }, 1);
    // When one worker runs the job
    const [summary] = await job.run(1);
    // Then two batches done, one failed after 2 deliveries with the predictor's error
    expect(summary).toMatchObject({ succeeded: 2, failed: 2 });
    expect(job.store.failures("j-test")).toEqual([
      { batch_id: "b-000001", attempts: 2, error: "ValueError: refusing item 'bad'" },
    ]);
    expect(job.store.counts("j-test", Date.now())).toMatchObject({
      succeeded: 2,
      failed: 1,
      retried: 1,
    });
  });

  it("Given a worker killed with -9 mid-batch, When the job goes on, Then its batch is given out again and every batch is recorded once", async () => {
    // Given 6 batches of one second each on 2 workers
    const job = harness(["a", "b", "c", "d", "e", "f"], 1, { seconds_per_batch: 1 });
    const running = job.run(2);
    // When a batch is leased and its worker's process is killed -9 while predict sleeps
    let victim: number | undefined;
    for (let i = 0; i < 200 && victim === undefined; i++) {
      await sleep(50);
      if (job.store.counts("j-test", Date.now()).leased > 0) victim = job.workers[0]?.pids()[0];
    }
    expect(victim).toBeDefined();
    await sleep(300);
    process.kill(victim as number, "SIGKILL");
    const summaries = await running;
    // Then the job is drained: 6 batches succeeded, each written exactly once, one released
    expect(job.store.counts("j-test", Date.now())).toMatchObject({
      succeeded: 6,
      failed: 0,
      queued: 0,
      leased: 0,
    });
    expect(recordedBatches(job.results).sort()).toEqual([
      "b-000000",
      "b-000001",
      "b-000002",
      "b-000003",
      "b-000004",
      "b-000005",
    ]);
    expect(summaries.reduce((sum, s) => sum + s.released, 0)).toBe(1);
    expect(readdirSync(path.join(job.results, "j-test")).filter((f) => f.endsWith(".tmp"))).toEqual(
      [],
    );
  }, 60_000);
});
